import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { randomBytes } from 'crypto';
import { join } from 'path';
import { freePort } from '../util/free-port';

/**
 * A private single-node Slurm cluster on loopback for tests: its own munge key and socket, config, state,
 * spool and logs under one folder, no cgroup plugins (proctrack/linuxproc, task/none). Debian's slurm-wlm
 * and munge; `.ci/run` installs them.
 */

const TOOLS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'scontrol'];

/** Why no private cluster can run here (undefined: it can). */
export const SLURM_MISSING: string | undefined = (() => {
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) return `${missing.join(', ')} not installed (apt-get install slurm-wlm munge)`;
  if (process.getuid?.() !== 0) return 'the private cluster runs its daemons as root (SlurmUser=root)';
  return undefined;
})();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SlurmCluster {
  private constructor(readonly dir: string, readonly conf: string) {}

  /** The environment Slurm's commands need to find this cluster. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SLURM_CONF: this.conf };
  }

  run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(command, args, { env: this.env, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  static async start(dir: string): Promise<SlurmCluster> {
    for (const d of ['state', 'spool', 'log', 'munge']) mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, 'munge'), 0o700);
    const key = join(dir, 'munge', 'munge.key');
    writeFileSync(key, randomBytes(1024), { mode: 0o400 });
    const socket = join(dir, 'munge', 'socket');
    const munge = spawnSync('munged', ['--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munge', 'pid')}`,
      `--seed-file=${join(dir, 'munge', 'seed')}`, `--log-file=${join(dir, 'log', 'munged.log')}`], { encoding: 'utf8' });
    if (munge.status !== 0) throw new Error(`munged did not start: ${munge.stderr}`);
    const node = spawnSync('hostname', ['-s'], { encoding: 'utf8' }).stdout.trim();
    const conf = join(dir, 'slurm.conf');
    writeFileSync(conf, [
      'ClusterName=lmktest',
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${await freePort()}`,
      `SlurmdPort=${await freePort()}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      'SlurmUser=root',
      'SlurmdUser=root',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SchedulerType=sched/backfill',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'MpiDefault=none',
      'ReturnToService=2',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`,
      'PartitionName=lmk Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    ].join('\n') + '\n');
    const cluster = new SlurmCluster(dir, conf);
    for (const [daemon, args] of [['slurmctld', ['-i']], ['slurmd', []]] as const) {
      const r = cluster.run(daemon, [...args]);
      if (r.status !== 0) throw new Error(`${daemon} did not start: ${r.stderr}${cluster.logs()}`);
    }
    for (let i = 0; i < 100; i++) {
      if (/\bidle\b/.test(cluster.run('sinfo', ['-h', '-o', '%T']).stdout)) return cluster;
      await sleep(200);
    }
    throw new Error(`the private Slurm node did not become idle${cluster.logs()}`);
  }

  /** The daemons' logs, for failure messages. */
  logs(): string {
    return ['slurmctld.log', 'slurmd.log'].map((f) => {
      const path = join(this.dir, 'log', f);
      return existsSync(path) ? `\n--- ${f}\n${readFileSync(path, 'utf8').split('\n').slice(-15).join('\n')}` : '';
    }).join('');
  }

  /** Jobs still queued or running. */
  jobs(): string[] {
    return this.run('squeue', ['-h', '-o', '%i %T']).stdout.split('\n').filter(Boolean);
  }

  async waitIdle(timeoutMs = 120_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.jobs().length > 0) {
      if (Date.now() > until) throw new Error(`jobs still running after ${timeoutMs / 1000} s: ${this.jobs().join(', ')}`);
      await sleep(250);
    }
  }

  /** Stops the daemons (and munged); safe to call more than once. */
  stop(): void {
    this.run('scancel', ['--quiet', '--full', '-u', 'root']);
    this.run('scontrol', ['shutdown']);
    const pids: number[] = [];
    for (const pidFile of [join(this.dir, 'slurmd.pid'), join(this.dir, 'slurmctld.pid'), join(this.dir, 'munge', 'pid')]) {
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
        pids.push(pid);
      } catch {
        // Already gone.
      }
    }
    // slurmctld saves its state as it exits: the folder can be removed once the daemons are gone.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}
