import * as fs from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as handler from '../lambda/database-roles/index.cjs';
import { bundleDatabaseRolesHandler, DATABASE_ROLES_BUNDLE } from '../scripts/bundle-database-roles';

const MASTER = 'bodyscript_admin';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:bodyscript/staging/database-master-AbCdEf';
const PROPERTIES = {
  ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:provider',
  MasterSecretId: SECRET_ARN,
  Database: 'bodyscript',
  Schema: 'bodyscript',
  Owner: 'bodyscript_migrations',
  Roles: [
    { Name: 'bodyscript_api', TablePrivileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], SequencePrivileges: ['USAGE', 'SELECT'] },
    { Name: 'bodyscript_worker', TablePrivileges: ['SELECT', 'INSERT', 'UPDATE'], SequencePrivileges: ['USAGE', 'SELECT'] },
  ],
};

/** A PostgreSQL error as `pg` raises it: message and SQLSTATE code. */
function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Membership {
  inherit: boolean;
  set: boolean;
  admin: boolean;
}
interface Role {
  login: boolean;
  password: string | null;
  attributes: string;
  searchPath?: string;
}
interface State {
  roles: Map<string, Role>;
  /** member → role → options */
  memberships: Map<string, Map<string, Membership>>;
  schemas: Map<string, { owner: string; privileges: Map<string, Set<string>> }>;
  databasePrivileges: Map<string, Set<string>>;
  /** tables of the application schema: name → owner and grants */
  tables: Map<string, { owner: string; grants: Map<string, Set<string>> }>;
  sequenceGrants: Map<string, Set<string>>;
  /** `${owner}|${schema}|TABLES|SEQUENCES` → grantee → privileges */
  defaults: Map<string, Map<string, Set<string>>>;
}

/**
 * RDS for PostgreSQL 16+ as the master user sees it, with the refusals the
 * handler must live with: CREATE ROLE of an existing role (42710), anything
 * naming a missing role (42704), altering or granting a role without ADMIN on
 * it, handing a schema to a role one cannot SET ROLE to, default privileges
 * or grants for a role whose privileges one does not inherit (42501), DROP
 * ROLE of a role that owns objects (2BP01), a lock held by someone else
 * (55P03), and an aborted transaction (25P02). Since PostgreSQL 16 the creator
 * of a role holds it WITH ADMIN only (createrole_self_grant empty). A
 * statement the model does not know fails the test.
 */
class Postgres {
  state: State = {
    roles: new Map<string, Role>([
      [MASTER, { login: true, password: 'master', attributes: 'CREATEROLE CREATEDB' }],
      ['rds_iam', { login: false, password: null, attributes: '' }],
      ['rds_superuser', { login: false, password: null, attributes: '' }],
    ]),
    memberships: new Map([[MASTER, new Map([['rds_superuser', { inherit: true, set: true, admin: false }]])]]),
    schemas: new Map(),
    databasePrivileges: new Map([['PUBLIC', new Set(['CONNECT', 'TEMPORARY'])]]),
    tables: new Map(),
    sequenceGrants: new Map(),
    defaults: new Map(),
  };
  /** Roles the master holds WITH ADMIN (those it created). */
  adminOf = new Set<string>(['rds_iam']);
  statements: string[] = [];
  ended = false;
  private saved?: string;
  private aborted = false;
  /** A statement (by prefix) that waits for a lock someone else holds, until lock_timeout. */
  lockedBy?: string;

  client() {
    return {
      query: async (text: string, values?: unknown[]) => this.query(text, values),
      end: async () => {
        this.ended = true;
      },
    };
  }

  /** What the application's migrations do later: a table in the schema, owned by the owner, with the owner's default privileges. */
  createTable(name: string, owner: string): void {
    const grants = new Map<string, Set<string>>();
    for (const [grantee, privileges] of this.state.defaults.get(`${owner}|bodyscript|TABLES`) ?? []) grants.set(grantee, new Set(privileges));
    this.state.tables.set(name, { owner, grants });
  }

  tablePrivileges(table: string, role: string): string[] {
    return [...(this.state.tables.get(table)?.grants.get(role) ?? [])].sort();
  }

  defaultTablePrivileges(role: string): string[] {
    return [...(this.state.defaults.get('bodyscript_migrations|bodyscript|TABLES')?.get(role) ?? [])].sort();
  }

  private memberOf(member: string, role: string, option: keyof Membership): boolean {
    if (member === role) return true;
    return this.state.memberships.get(member)?.get(role)?.[option] === true;
  }

  private requireRole(name: string): Role {
    const role = this.state.roles.get(name);
    if (!role) throw pgError('42704', `role "${name}" does not exist`);
    return role;
  }

  private requireAdmin(name: string): void {
    this.requireRole(name);
    if (!this.adminOf.has(name)) throw pgError('42501', `permission denied to alter role "${name}": only roles with the ADMIN option on role "${name}" may alter it`);
  }

  private ownsObjects(name: string): boolean {
    return [...this.state.schemas.values()].some((s) => s.owner === name) || [...this.state.tables.values()].some((t) => t.owner === name);
  }

  private async query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    this.statements.push(text);
    if (text === 'BEGIN') {
      this.saved = this.snapshot();
      this.aborted = false;
      return { rows: [] };
    }
    if (text === 'ROLLBACK') {
      if (this.saved) this.restore(this.saved);
      this.saved = undefined;
      this.aborted = false;
      return { rows: [] };
    }
    if (this.aborted) throw pgError('25P02', 'current transaction is aborted, commands ignored until end of transaction block');
    try {
      return this.execute(text, values);
    } catch (error) {
      if (this.saved) this.aborted = true;
      throw error;
    }
  }

  private execute(text: string, values?: unknown[]): { rows: Record<string, unknown>[] } {
    const s = this.state;
    const id = '"([a-z_][a-z0-9_]*)"';
    let m: RegExpMatchArray | null;
    if (text === 'COMMIT') {
      if (this.aborted) throw pgError('25P02', 'transaction aborted');
      this.saved = undefined;
      return { rows: [] };
    }
    if (this.lockedBy && text.startsWith(this.lockedBy)) throw pgError('55P03', 'canceling statement due to lock timeout');
    if (text === "SET LOCAL lock_timeout = '10s'") return { rows: [] };
    if (text.startsWith('SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])')) {
      const names = values?.[0] as string[];
      return { rows: names.filter((n) => s.roles.has(n)).map((rolname) => ({ rolname })) };
    }
    if ((m = text.match(new RegExp(`^CREATE ROLE ${id} WITH (.+)$`)))) {
      if (s.roles.has(m[1])) throw pgError('42710', `role "${m[1]}" already exists`);
      s.roles.set(m[1], { login: m[2].includes('LOGIN'), password: null, attributes: m[2] });
      this.adminOf.add(m[1]);
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^ALTER ROLE ${id} WITH (.+?)( PASSWORD NULL)?$`)))) {
      this.requireAdmin(m[1]);
      const role = this.requireRole(m[1]);
      Object.assign(role, { login: m[2].includes('LOGIN'), attributes: m[2], ...(m[3] ? { password: null } : {}) });
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^ALTER ROLE ${id} IN DATABASE ${id} SET search_path = ${id}$`)))) {
      this.requireAdmin(m[1]);
      this.requireRole(m[1]).searchPath = m[3];
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^GRANT rds_iam TO ${id}$`)))) {
      this.requireRole(m[1]);
      const memberships = s.memberships.get(m[1]) ?? new Map();
      memberships.set('rds_iam', { inherit: true, set: true, admin: false });
      s.memberships.set(m[1], memberships);
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^GRANT ${id} TO CURRENT_USER WITH INHERIT TRUE, SET TRUE$`)))) {
      this.requireAdmin(m[1]);
      const memberships = s.memberships.get(MASTER)!;
      memberships.set(m[1], { inherit: true, set: true, admin: true });
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^CREATE SCHEMA IF NOT EXISTS ${id} AUTHORIZATION ${id}$`)))) {
      this.requireRole(m[2]);
      if (!this.memberOf(MASTER, m[2], 'set')) throw pgError('42501', `must be able to SET ROLE "${m[2]}"`);
      if (!s.schemas.has(m[1])) s.schemas.set(m[1], { owner: m[2], privileges: new Map() });
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^ALTER SCHEMA ${id} OWNER TO ${id}$`)))) {
      const schema = s.schemas.get(m[1]);
      if (!schema) throw pgError('3F000', `schema "${m[1]}" does not exist`);
      if (!this.memberOf(MASTER, schema.owner, 'inherit')) throw pgError('42501', `must be owner of schema ${m[1]}`);
      if (!this.memberOf(MASTER, m[2], 'set')) throw pgError('42501', `must be able to SET ROLE "${m[2]}"`);
      schema.owner = m[2];
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^(REVOKE ALL|GRANT CONNECT) ON DATABASE ${id} (?:FROM|TO) (PUBLIC|${id})$`)))) {
      const grantee = m[4] ?? m[3];
      if (grantee !== 'PUBLIC') this.requireRole(grantee);
      if (m[1] === 'REVOKE ALL') s.databasePrivileges.delete(grantee);
      else s.databasePrivileges.set(grantee, new Set([...(s.databasePrivileges.get(grantee) ?? []), 'CONNECT']));
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^(REVOKE ALL|GRANT USAGE) ON SCHEMA ${id} (?:FROM|TO) (PUBLIC|${id})$`)))) {
      const schema = s.schemas.get(m[2]);
      if (!schema) throw pgError('3F000', `schema "${m[2]}" does not exist`);
      const grantee = m[4] ?? m[3];
      if (m[1] === 'REVOKE ALL') schema.privileges.delete(grantee);
      else schema.privileges.set(grantee, new Set(['USAGE']));
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^(REVOKE ALL|GRANT ([A-Z, ]+)) ON ALL (TABLES|SEQUENCES) IN SCHEMA ${id} (?:FROM|TO) ${id}$`)))) {
      this.requireRole(m[5]);
      const schema = s.schemas.get(m[4]);
      if (!schema) throw pgError('3F000', `schema "${m[4]}" does not exist`);
      const privileges = m[2]?.split(', ') ?? [];
      if (m[3] === 'TABLES') {
        for (const [name, table] of s.tables) {
          if (!this.memberOf(MASTER, table.owner, 'inherit')) throw pgError('42501', `permission denied for table ${name}`);
          if (m[1] === 'REVOKE ALL') table.grants.delete(m[5]);
          else table.grants.set(m[5], new Set([...(table.grants.get(m[5]) ?? []), ...privileges]));
        }
      } else if (m[1] === 'REVOKE ALL') s.sequenceGrants.delete(m[5]);
      else s.sequenceGrants.set(m[5], new Set(privileges));
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^ALTER DEFAULT PRIVILEGES FOR ROLE ${id} IN SCHEMA ${id} (REVOKE ALL|GRANT ([A-Z, ]+)) ON (TABLES|SEQUENCES) (?:FROM|TO) ${id}$`)))) {
      this.requireRole(m[1]);
      this.requireRole(m[6]);
      if (!this.memberOf(MASTER, m[1], 'inherit')) throw pgError('42501', `permission denied to change default privileges of role "${m[1]}"`);
      const key = `${m[1]}|${m[2]}|${m[5]}`;
      const defaults = s.defaults.get(key) ?? new Map<string, Set<string>>();
      if (m[3] === 'REVOKE ALL') defaults.delete(m[6]);
      else defaults.set(m[6], new Set([...(defaults.get(m[6]) ?? []), ...m[4].split(', ')]));
      s.defaults.set(key, defaults);
      return { rows: [] };
    }
    if ((m = text.match(new RegExp(`^DROP ROLE (?:IF EXISTS )?${id}$`)))) {
      if (this.ownsObjects(m[1])) throw pgError('2BP01', `role "${m[1]}" cannot be dropped because some objects depend on it`);
      s.roles.delete(m[1]);
      return { rows: [] };
    }
    throw new Error(`the PostgreSQL model does not know this statement: ${text}`);
  }

  private snapshot(): string {
    const toJson = (value: unknown): unknown =>
      value instanceof Map ? { __map: [...value].map(([k, v]) => [k, toJson(v)]) } : value instanceof Set ? { __set: [...value] } : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)])) : value;
    return JSON.stringify({ state: toJson(this.state), adminOf: [...this.adminOf] });
  }

  private restore(saved: string): void {
    const fromJson = (value: unknown): unknown => {
      if (value && typeof value === 'object') {
        const v = value as { __map?: [string, unknown][]; __set?: unknown[] };
        if (v.__map) return new Map(v.__map.map(([k, x]) => [k, fromJson(x)]));
        if (v.__set) return new Set(v.__set);
        return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, fromJson(x)]));
      }
      return value;
    };
    const parsed = JSON.parse(saved) as { state: unknown; adminOf: string[] };
    this.state = fromJson(parsed.state) as State;
    this.adminOf = new Set(parsed.adminOf);
  }
}

const secrets = mockClient(SecretsManagerClient);

function world(database = new Postgres()) {
  const connections: unknown[] = [];
  const deps = {
    secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    connect: async (settings: unknown) => {
      connections.push(settings);
      return database.client();
    },
    log: () => undefined,
  };
  return { database, connections, deps };
}

const event = (RequestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown> = PROPERTIES) => ({
  RequestType,
  PhysicalResourceId: RequestType === 'Create' ? undefined : 'bodyscript/bodyscript',
  ResourceProperties: properties,
});

beforeEach(() => {
  secrets.reset();
  secrets
    .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ engine: 'postgres', host: 'db.example.us-east-1.rds.amazonaws.com', port: 5433, username: MASTER, password: 'master', dbname: 'bodyscript' }) });
});

describe('Custom::DatabaseRoles handler', () => {
  test('creates the owner and the service roles, IAM authentication only, with exactly their grants', async () => {
    const { database, connections, deps } = world();
    const answer = await handler.onEvent(event('Create'), deps);

    expect(answer).toEqual({ PhysicalResourceId: 'bodyscript/bodyscript', Data: { Owner: 'bodyscript_migrations', Roles: 'bodyscript_api,bodyscript_worker' } });
    expect(connections).toEqual([{ host: 'db.example.us-east-1.rds.amazonaws.com', port: 5433, user: MASTER, password: 'master', database: 'bodyscript' }]);
    const s = database.state;
    for (const name of ['bodyscript_migrations', 'bodyscript_api', 'bodyscript_worker']) {
      expect(s.roles.get(name)).toMatchObject({ login: true, password: null, searchPath: 'bodyscript' });
      expect(s.roles.get(name)!.attributes).toContain('NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS');
      expect(s.memberships.get(name)?.has('rds_iam')).toBe(true);
      expect(s.databasePrivileges.get(name)).toEqual(new Set(['CONNECT']));
    }
    // Nobody else connects; nobody gets TEMPORARY.
    expect(s.databasePrivileges.has('PUBLIC')).toBe(false);
    expect(s.schemas.get('bodyscript')?.owner).toBe('bodyscript_migrations');
    expect(s.schemas.get('bodyscript')?.privileges).toEqual(new Map([['bodyscript_api', new Set(['USAGE'])], ['bodyscript_worker', new Set(['USAGE'])]]));
    expect(database.defaultTablePrivileges('bodyscript_api')).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
    expect(database.defaultTablePrivileges('bodyscript_worker')).toEqual(['INSERT', 'SELECT', 'UPDATE']);
    // Tables the migrations create later carry those grants.
    database.createTable('videos', 'bodyscript_migrations');
    expect(database.tablePrivileges('videos', 'bodyscript_api')).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
    expect(database.tablePrivileges('videos', 'bodyscript_worker')).toEqual(['INSERT', 'SELECT', 'UPDATE']);
    expect(database.statements.at(-1)).toBe('COMMIT');
    expect(database.ended).toBe(true);
  });

  test('runs again over existing roles (PostgreSQL refuses CREATE ROLE of an existing role): alters them instead and converges on the given grants', async () => {
    const { database, deps } = world();
    await handler.onEvent(event('Create'), deps);
    database.createTable('videos', 'bodyscript_migrations');
    database.statements = [];

    const narrower = { ...PROPERTIES, Roles: [PROPERTIES.Roles[0], { ...PROPERTIES.Roles[1], TablePrivileges: ['SELECT', 'UPDATE'] }] };
    await handler.onEvent(event('Update', narrower), deps);

    expect(database.statements.filter((statement) => statement.startsWith('CREATE ROLE'))).toEqual([]);
    expect(database.statements).toContain('ALTER ROLE "bodyscript_worker" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL');
    // The privilege no longer listed is gone from the existing table and from the defaults.
    expect(database.tablePrivileges('videos', 'bodyscript_worker')).toEqual(['SELECT', 'UPDATE']);
    expect(database.defaultTablePrivileges('bodyscript_worker')).toEqual(['SELECT', 'UPDATE']);
    expect(database.tablePrivileges('videos', 'bodyscript_api')).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
  });

  test('a role someone else created (no ADMIN on it) fails the whole run and changes nothing', async () => {
    const database = new Postgres();
    database.state.roles.set('bodyscript_worker', { login: true, password: 'set-by-hand', attributes: 'LOGIN' });
    const { deps } = world(database);
    const before = JSON.stringify([...database.state.roles.keys()]);

    await expect(handler.onEvent(event('Create'), deps)).rejects.toThrow(/ALTER ROLE "bodyscript_worker" .*ADMIN option.*\(SQLSTATE 42501\)/);
    expect(JSON.stringify([...database.state.roles.keys()])).toBe(before);
    expect(database.state.schemas.size).toBe(0);
    expect(database.statements.at(-1)).toBe('ROLLBACK');
    expect(database.ended).toBe(true);
  });

  test('a migration holding a lock on the schema fails the run after lock_timeout, rolled back, naming the statement', async () => {
    const database = new Postgres();
    database.lockedBy = 'ALTER SCHEMA';
    const { deps } = world(database);
    await expect(handler.onEvent(event('Create'), deps)).rejects.toThrow('ALTER SCHEMA "bodyscript" OWNER TO "bodyscript_migrations": canceling statement due to lock timeout (SQLSTATE 55P03)');
    expect(database.state.roles.has('bodyscript_api')).toBe(false);
    expect(database.statements).toContain("SET LOCAL lock_timeout = '10s'");
  });

  test('Delete drops nothing and touches neither the secret nor the database (the owner owns the data: PostgreSQL refuses DROP ROLE of it)', async () => {
    const { database, connections, deps } = world();
    await handler.onEvent(event('Create'), deps);
    database.createTable('videos', 'bodyscript_migrations');
    secrets.resetHistory();
    database.statements = [];

    const answer = await handler.onEvent(event('Delete'), { ...deps, connect: async () => {
      throw new Error('Delete must not connect');
    } });
    expect(answer).toEqual({ PhysicalResourceId: 'bodyscript/bodyscript' });
    expect(secrets.calls()).toHaveLength(0);
    expect(database.statements).toEqual([]);
    expect(connections).toHaveLength(1);
    // What a Delete that dropped roles would meet:
    await expect(database.client().query('DROP ROLE "bodyscript_migrations"')).rejects.toMatchObject({ code: '2BP01' });
  });

  test.each([
    ['Owner', { Owner: 'rds_superuser' }, /Owner must not be a role of RDS or PostgreSQL/],
    ['a role name', { Roles: [{ ...PROPERTIES.Roles[0], Name: 'Api; DROP TABLE x' }] }, /Roles\[0\]\.Name must be a lower-case PostgreSQL identifier/],
    ['a privilege', { Roles: [{ ...PROPERTIES.Roles[0], TablePrivileges: ['SELECT', 'TRUNCATE'] }] }, /Roles\[0\]\.TablePrivileges must be a list of SELECT, INSERT, UPDATE, DELETE/],
    ['the database', { Database: 'Body-Script' }, /Database must be a lower-case PostgreSQL identifier/],
    ['a duplicate', { Roles: [{ ...PROPERTIES.Roles[0], Name: 'bodyscript_migrations' }] }, /Owner and Roles\[\]\.Name must all differ/],
    ['no roles', { Roles: [] }, /Roles must be a non-empty list/],
  ])('refuses bad %s before any AWS call or SQL', async (_what, change, message) => {
    const { database, connections, deps } = world();
    await expect(handler.onEvent(event('Create', { ...PROPERTIES, ...change }), deps)).rejects.toThrow(message);
    expect(secrets.calls()).toHaveLength(0);
    expect(connections).toHaveLength(0);
    expect(database.statements).toEqual([]);
  });

  test('a master secret that cannot be read, or lacks the credentials, fails before any SQL', async () => {
    const { database, deps } = world();
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException' }));
    await expect(handler.onEvent(event('Create'), deps)).rejects.toThrow(/can't find the specified secret/);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: MASTER, password: 'x' }) });
    await expect(handler.onEvent(event('Update'), deps)).rejects.toThrow(/lacks host, port, username or password/);
    expect(database.statements).toEqual([]);
  });

  test('the committed bundle (the Lambda asset) is what scripts/bundle-database-roles.ts builds from the handler and the pinned pg', () => {
    expect(fs.readFileSync(DATABASE_ROLES_BUNDLE, 'utf8') === bundleDatabaseRolesHandler()).toBe(true);
  });
});
