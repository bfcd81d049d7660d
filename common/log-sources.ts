/** Which members' containers `dbaas logs` reads, and how its text form names them. Pure. */
import type { Member } from './inventory';
import { componentsOf, type LogComponent, type LogLine } from './log-lines';

/** The members whose containers hold the lines asked for, or why there are none (bad input: exit 2). */
export function pickLogMembers(cluster: string, members: Member[], member?: string, component?: LogComponent): { members: Member[] } | { problem: string } {
  let picked = members;
  if (member !== undefined) {
    picked = members.filter((m) => m.name === member);
    if (picked.length === 0) {
      const names = [...new Set(members.map((m) => m.name))];
      return { problem: `cluster ${cluster} has no member ${member} (members: ${names.join(', ') || 'none'})` };
    }
  }
  if (component !== undefined) {
    const writers = picked.filter((m) => componentsOf(m.kind).includes(component));
    if (writers.length === 0) {
      return { problem: member !== undefined ? `${member} writes no ${component} lines (it writes ${componentsOf(picked[0].kind).join(' and ')})` : `cluster ${cluster} has no ${component} container` };
    }
    picked = writers;
  }
  return { members: picked };
}

/**
 * How the text form names each member: its name, or name@host where more than one host runs a
 * member of that name (HAProxy and the poolers run on every host with a Postgres member).
 */
export function memberLabels(members: Pick<Member, 'name' | 'host'>[]): (l: Pick<LogLine, 'member' | 'host'>) => string {
  const hostsOf = new Map<string, Set<string>>();
  for (const m of members) hostsOf.set(m.name, (hostsOf.get(m.name) ?? new Set()).add(m.host));
  return (l) => ((hostsOf.get(l.member)?.size ?? 0) > 1 ? `${l.member}@${l.host}` : l.member);
}

/** The width of the widest `member/component` the members can print: the text form lines up behind it. */
export function labelWidth(members: Pick<Member, 'name' | 'host' | 'kind'>[], component?: LogComponent): number {
  const label = memberLabels(members);
  const widths = members.flatMap((m) => componentsOf(m.kind).filter((c) => component === undefined || c === component).map((c) => `${label({ member: m.name, host: m.host })}/${c}`.length));
  return widths.reduce((a, b) => Math.max(a, b), 0);
}
