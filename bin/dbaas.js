#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci`).
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'dist', 'client', 'main.js');
if (!fs.existsSync(main)) {
  console.error('dbaas: not built yet: run `bash scripts/ensure-node-deps.sh` (or `npm install && npm run build`) in ' + path.join(__dirname, '..'));
  process.exit(2);
}
const cli = require(main);
// Exits once stdout and stderr have written everything (process.exit alone cuts a slow pipe).
cli.main(process.argv).then(cli.exitWhenFlushed);
