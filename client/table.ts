/** Tables for the CLI: colours only on a terminal, so piped output and logs stay plain text. */
import Table from 'cli-table3';

export function table(head: string[]): Table.Table {
  return process.stdout.isTTY
    ? new Table({ head })
    : new Table({ head, style: { head: [], border: [] } });
}
