import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BRIDGE_PREFIX, bridgeName } from '../../common/resource-names';
import { PREFIX_MATCH, RULE_COMMENT, dropForwardedInto, insertCommand, parseRuleLine, planForwardingRules, wantedBridges } from '../../common/render/forwarding-rules';

/** How iptables 1.8.9 (nf_tables and legacy alike) lists our rule: -i before -o, the comment quoted. */
const listed = (bridge: string, comment = RULE_COMMENT): string =>
  `-A DOCKER-USER ! -i ${bridge} -o ${bridge} -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "${comment}" -j DROP`;

test('a cluster bridge name has the prefix, fits IFNAMSIZ and differs per cluster', () => {
  const names = ['demo', 'orders-east-1', 'orders-east-2', 'a'.repeat(30)].map(bridgeName);
  for (const n of names) {
    assert.ok(n.startsWith(BRIDGE_PREFIX), n);
    assert.equal(n.length, 15, n);
    assert.match(n, /^[a-z0-9-]+$/);
  }
  assert.equal(new Set(names).size, names.length);
  assert.equal(bridgeName('demo'), bridgeName('demo'), 'deterministic: a retried activity asks for the same bridge');
});

test('the rule drops new forwarded connections into the bridge from other interfaces only', () => {
  assert.deepEqual(dropForwardedInto('dbaas-+'), [
    '-o', 'dbaas-+', '!', '-i', 'dbaas-+',
    '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED',
    '-m', 'comment', '--comment', RULE_COMMENT,
    '-j', 'DROP',
  ]);
  assert.equal(
    insertCommand(PREFIX_MATCH),
    `iptables -I DOCKER-USER 1 -o dbaas-+ '!' -i dbaas-+ -m conntrack '!' --ctstate RELATED,ESTABLISHED -m comment --comment '${RULE_COMMENT}' -j DROP`,
  );
});

test('the prefix covers new networks; only older br-<id> bridges get a rule each', () => {
  assert.deepEqual(wantedBridges([]), ['dbaas-+']);
  assert.deepEqual(wantedBridges(['dbaas-0123abcde', 'br-8dd89f9cb079', 'br-21ec08a13111', 'br-8dd89f9cb079']), ['dbaas-+', 'br-21ec08a13111', 'br-8dd89f9cb079']);
});

test('a listed rule parses back into the arguments iptables -D takes', () => {
  assert.deepEqual(parseRuleLine(listed('br-8dd89f9cb079')), [
    '!', '-i', 'br-8dd89f9cb079', '-o', 'br-8dd89f9cb079',
    '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED',
    '-m', 'comment', '--comment', RULE_COMMENT,
    '-j', 'DROP',
  ]);
  assert.deepEqual(parseRuleLine('-A DOCKER-USER -m comment --comment "say \\"hi\\"" -j RETURN'), ['-m', 'comment', '--comment', 'say "hi"', '-j', 'RETURN']);
  assert.equal(parseRuleLine('-N DOCKER-USER'), undefined);
  assert.equal(parseRuleLine(''), undefined);
});

test('on a fresh chain every wanted rule is inserted and Docker\'s RETURN is left alone', () => {
  const plan = planForwardingRules('-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n', ['dbaas-+', 'br-8dd89f9cb079']);
  assert.deepEqual(plan.insert, [dropForwardedInto('dbaas-+'), dropForwardedInto('br-8dd89f9cb079')]);
  assert.deepEqual(plan.delete, []);
});

test('run again, the plan changes nothing: dev up is idempotent', () => {
  const chain = ['-N DOCKER-USER', listed('br-8dd89f9cb079'), listed('dbaas-+'), '-A DOCKER-USER -j RETURN'].join('\n');
  assert.deepEqual(planForwardingRules(chain, ['dbaas-+', 'br-8dd89f9cb079']), { insert: [], delete: [] });
});

test('stale rules of ours go (a deleted network, an older comment, a duplicate); a user\'s rules stay', () => {
  const user = '-A DOCKER-USER -s 10.0.0.0/8 -m comment --comment "office" -j ACCEPT';
  const chain = [
    '-N DOCKER-USER',
    user,
    listed('br-000000000000'),
    listed('dbaas-+', 'dbaas: an older version'),
    listed('dbaas-+'),
    listed('dbaas-+'),
    '-A DOCKER-USER -j RETURN',
  ].join('\n');
  const plan = planForwardingRules(chain, ['dbaas-+']);
  assert.deepEqual(plan.insert, []);
  assert.deepEqual(plan.delete, [parseRuleLine(listed('br-000000000000')), parseRuleLine(listed('dbaas-+', 'dbaas: an older version')), parseRuleLine(listed('dbaas-+'))]);
  assert.ok(!plan.delete.some((r) => r.includes('office')));
});

test('removal (dev down --engine) deletes every rule of ours and nothing else', () => {
  const chain = ['-N DOCKER-USER', listed('dbaas-+'), listed('br-8dd89f9cb079'), '-A DOCKER-USER -j RETURN'].join('\n');
  const plan = planForwardingRules(chain, []);
  assert.deepEqual(plan.insert, []);
  assert.equal(plan.delete.length, 2);
  assert.deepEqual(planForwardingRules('', []), { insert: [], delete: [] });
});
