import fs from 'node:fs';
import path from 'node:path';
import { readIni } from './support/render-config';
import { INFRA_DIR } from './support/start-source-cluster';

const K8S_DIR = path.join(INFRA_DIR, '..', 'k8s', 'backup');
const read = (file: string) => fs.readFileSync(file, 'utf8');

/**
 * The committed configuration says what the docs promise. (The restore-drill suite runs the real
 * cycle with these same files; this one names the promises and catches copies drifting apart.)
 */
describe('committed backup configuration', () => {
  const conf = read(path.join(INFRA_DIR, 'pgbackrest.conf'));

  it('encrypts repository 1 with aes-256-cbc and commits no passphrase', () => {
    expect(readIni(conf, 'global', 'repo1-cipher-type')).toBe('aes-256-cbc');
    for (const file of ['pgbackrest.conf', 'pgbackrest-repo2-s3.conf', 'docker-compose.backup.yml']) {
      expect(read(path.join(INFRA_DIR, file))).not.toMatch(/(cipher-pass|s3-key(-secret)?)=\S/);
    }
  });

  it('keeps full backups for 30 days by time, on both repositories', () => {
    expect(readIni(conf, 'global', 'repo1-retention-full-type')).toBe('time');
    expect(readIni(conf, 'global', 'repo1-retention-full')).toBe('29');
    const s3 = read(path.join(INFRA_DIR, 'pgbackrest-repo2-s3.conf'));
    expect(readIni(s3, 'global', 'repo2-type')).toBe('s3');
    expect(readIni(s3, 'global', 'repo2-cipher-type')).toBe('aes-256-cbc');
    expect(readIni(s3, 'global', 'repo2-retention-full-type')).toBe('time');
    expect(readIni(s3, 'global', 'repo2-retention-full')).toBe('29');
  });

  it('archives WAL through pgbackrest-run with archive_timeout well inside the 15-minute RPO', () => {
    const pg = read(path.join(INFRA_DIR, 'postgresql.backup.conf'));
    expect(pg).toMatch(/^archive_mode = on$/m);
    expect(pg).toMatch(
      /^archive_command = '\/usr\/local\/bin\/pgbackrest-run --stanza=tenantmesh archive-push %p'$/m,
    );
    const timeout = Number(/^archive_timeout = (\d+)$/m.exec(pg)?.[1]);
    expect(timeout).toBe(60);
    expect(timeout).toBeLessThanOrEqual(15 * 60);
  });

  it('the Kubernetes ConfigMap carries the off-site settings verbatim', () => {
    const configMap = read(path.join(K8S_DIR, 'configmap.yaml'));
    const embedded = read(path.join(INFRA_DIR, 'pgbackrest-repo2-s3.conf'))
      .split('\n')
      .map((line) => (line ? `    ${line}` : ''))
      .join('\n');
    expect(configMap).toContain(`  pgbackrest-repo2-s3.conf: |\n${embedded}`);
  });

  it('schedules a daily full backup and a weekly drill, non-root with a read-only root filesystem', () => {
    const backup = read(path.join(K8S_DIR, 'backup-cronjob.yaml'));
    const drill = read(path.join(K8S_DIR, 'restore-drill-cronjob.yaml'));
    expect(backup).toMatch(/schedule: "0 1 \* \* \*"/);
    expect(backup).toMatch(/command: \["backup-full"\]/);
    expect(drill).toMatch(/schedule: "0 4 \* \* 0"/);
    expect(drill).toMatch(/command: \["node", "\/opt\/tenantmesh\/backup\/dist\/drill\.js"\]/);
    for (const job of [backup, drill]) {
      expect(job).toMatch(/runAsNonRoot: true/);
      expect(job).toMatch(/readOnlyRootFilesystem: true/);
      expect(job).toMatch(/mountPath: \/run\/secrets, readOnly: true/);
      expect(job).not.toMatch(/secretKeyRef/); // secrets as files, never environment variables
    }
  });
});
