import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INFRA_DIR } from './support/start-source-cluster';

const WRAPPER = path.join(INFRA_DIR, 'pgbackrest-run');

function run(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      [WRAPPER, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * pgbackrest-run is how every pgBackRest command gets its secrets. `echo` stands in for
 * pgBackRest here, to show exactly what pgBackRest would be given.
 */
describe('pgbackrest-run', () => {
  let dir: string;
  let env: Record<string, string>;
  const pass = 'Zm9vYmFyLXRoaXMtaXMtYS10ZXN0LXBhc3NwaHJhc2U=';

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-pgbackrest-run-'));
    fs.mkdirSync(path.join(dir, 'secrets'));
    fs.mkdirSync(path.join(dir, 'conf.d'));
    env = {
      TM_PGBACKREST_CONFIG: path.join(INFRA_DIR, 'pgbackrest.conf'),
      TM_PGBACKREST_CONFIG_DIR: path.join(dir, 'conf.d'),
      TM_PGBACKREST_RUNTIME_DIR: path.join(dir, 'runtime'),
      TM_PGBACKREST_BIN: 'echo',
      SECRETS_DIR: path.join(dir, 'secrets'),
    };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('puts the passphrase in a private include file, never on the command line', async () => {
    fs.writeFileSync(path.join(dir, 'secrets', 'pgbackrest_cipher_pass'), `${pass}\n`, { mode: 0o600 });
    const result = await run(env, ['--stanza=tenantmesh', 'info']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(
      `--config=${env.TM_PGBACKREST_CONFIG} --config-include-path=${path.join(dir, 'runtime', 'conf.d')} --stanza=tenantmesh info`,
    );
    expect(result.stdout).not.toContain(pass);
    const generated = path.join(dir, 'runtime', 'conf.d', 'zz-secrets.conf');
    expect(fs.readFileSync(generated, 'utf8')).toBe(`[global]\nrepo1-cipher-pass=${pass}\n`);
    expect(fs.statSync(generated).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'runtime')).mode & 0o777).toBe(0o700);
  });

  it('adds the off-site keys only where the off-site settings are mounted', async () => {
    fs.writeFileSync(path.join(dir, 'secrets', 'pgbackrest_cipher_pass'), pass);
    fs.copyFileSync(
      path.join(INFRA_DIR, 'pgbackrest-repo2-s3.conf'),
      path.join(dir, 'conf.d', 'pgbackrest-repo2-s3.conf'),
    );
    const missing = await run(env, ['info']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`secret file ${path.join(dir, 'secrets', 'pgbackrest_repo2_s3_key')}`);
    for (const [name, value] of [
      ['pgbackrest_repo2_s3_key', 'AKIDEXAMPLE'],
      ['pgbackrest_repo2_s3_key_secret', 'wJalrXUtnFEMI'],
      ['pgbackrest_repo2_cipher_pass', 'other-passphrase'],
    ]) {
      fs.writeFileSync(path.join(dir, 'secrets', name!), value!);
    }
    expect((await run(env, ['info'])).code).toBe(0);
    const conf = path.join(dir, 'runtime', 'conf.d');
    expect(fs.readFileSync(path.join(conf, 'zz-secrets.conf'), 'utf8')).toBe(
      `[global]\nrepo1-cipher-pass=${pass}\nrepo2-s3-key=AKIDEXAMPLE\nrepo2-s3-key-secret=wJalrXUtnFEMI\nrepo2-cipher-pass=other-passphrase\n`,
    );
    expect(fs.existsSync(path.join(conf, 'pgbackrest-repo2-s3.conf'))).toBe(true);
  });

  it('refuses to run without the passphrase file, or with a multi-line one, naming the file only', async () => {
    const file = path.join(dir, 'secrets', 'pgbackrest_cipher_pass');
    const absent = await run(env, ['info']);
    expect(absent.code).not.toBe(0);
    expect(absent.stderr).toContain(`secret file ${file} (for repo1-cipher-pass) is missing`);
    fs.writeFileSync(file, `${pass}\nrepo1-path=/elsewhere\n`);
    const twoLines = await run(env, ['info']);
    expect(twoLines.code).not.toBe(0);
    expect(twoLines.stderr).toContain('must hold a single line');
    expect(twoLines.stderr).not.toContain(pass);
    expect(twoLines.stdout).toBe('');
  });
});
