/** Parsers of database and role names for `db`, `user` and `connect`: bad input is one line and exit 2, before anything is contacted. */
import { databaseNameProblem, droppableDatabaseProblem, newDatabaseProblem, ownerProblem, roleNameProblem, userDatabaseProblem, userRoleProblem } from '../common/db-objects';
import { UsageError } from './errors';

const parser = (problem: (v: string) => string | undefined) => (v: string): string => {
  const p = problem(v);
  if (p) throw new UsageError(p);
  return v;
};

export const parseDatabaseName = parser(databaseNameProblem);
export const parseNewDatabase = parser(newDatabaseProblem);
/** A user role's database (`user create --database`). */
export const parseUserDatabase = parser(userDatabaseProblem);
export const parseDroppableDatabase = parser(droppableDatabaseProblem);
export const parseOwner = parser(ownerProblem);
/** A role users manage (not dbaas's own). */
export const parseUserRole = parser(userRoleProblem);
/** Any role (`connect --user app` and `--user postgres` too). */
export const parseRoleName = parser(roleNameProblem);
