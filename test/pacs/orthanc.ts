import { ChildProcess, spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { freePort } from '../util/free-port';

const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** Why no private Orthanc can run here (undefined: it can): the Debian packages orthanc and orthanc-dicomweb. */
export const ORTHANC_MISSING: string | undefined = (() => {
  if (spawnSync('Orthanc', ['--version'], { encoding: 'utf8' }).status !== 0) return 'Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)';
  if (!existsSync(DICOMWEB_PLUGIN)) return `the Orthanc DICOMweb plugin is not installed (${DICOMWEB_PLUGIN}; apt-get install orthanc-dicomweb)`;
  return undefined;
})();

/** A private Orthanc on loopback: its own storage folder, authentication on, one registered user. */
export class Orthanc {
  readonly user = 'lmk-test';
  readonly password = 'pw-d0-not-print';
  private process?: ChildProcess;
  private log = '';

  private constructor(readonly dir: string, readonly port: number) {}

  /** REST root (http://127.0.0.1:PORT). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get dicomweb(): string {
    return `${this.url}/dicom-web`;
  }

  static async start(dir: string): Promise<Orthanc> {
    mkdirSync(join(dir, 'storage'), { recursive: true });
    const orthanc = new Orthanc(dir, await freePort());
    const dicomPort = await freePort();
    writeFileSync(join(dir, 'orthanc.json'), JSON.stringify({
      Name: 'lmk-test',
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'storage'),
      HttpPort: orthanc.port,
      DicomServerEnabled: false,
      DicomPort: dicomPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: true,
      RegisteredUsers: { [orthanc.user]: orthanc.password },
      Plugins: [DICOMWEB_PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
    }, null, 2));
    await orthanc.restart();
    return orthanc;
  }

  /** Starts the server (again, on the same port and storage) and waits until it answers. */
  async restart(): Promise<void> {
    const child = spawn('Orthanc', [join(this.dir, 'orthanc.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    child.stdout!.on('data', (d) => { this.log += String(d); });
    child.stderr!.on('data', (d) => { this.log += String(d); });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`Orthanc exited with status ${child.exitCode}:\n${this.log.slice(-2000)}`);
      try {
        if ((await this.get('/system')).ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Orthanc did not answer within 30 s:\n${this.log.slice(-2000)}`);
  }

  /** Stops the server (SIGTERM; SIGKILL: at once, as a crash) and waits for it to exit. The signal is sent before this returns. */
  stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    return exited;
  }

  /** A REST call as the registered user. */
  get(path: string, init: RequestInit = {}): Promise<Response> {
    const auth = `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`;
    return fetch(`${this.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: auth } });
  }

  /** Stores one DICOM file through the REST API. */
  async upload(file: Uint8Array): Promise<void> {
    const r = await this.get('/instances', { method: 'POST', body: file, headers: { 'Content-Type': 'application/dicom' } });
    if (!r.ok) throw new Error(`Orthanc refused an upload: HTTP ${r.status} ${await r.text()}`);
  }

  /** Every instance with its main tags (SOPInstanceUID, ..., and the series' Modality). */
  async instances(): Promise<{ id: string; sopInstanceUid: string; modality: string; modelName?: string }[]> {
    const ids = (await (await this.get('/instances')).json()) as string[];
    return Promise.all(ids.map(async (id) => {
      const tags = (await (await this.get(`/instances/${id}/simplified-tags`)).json()) as Record<string, string>;
      return { id, sopInstanceUid: tags.SOPInstanceUID, modality: tags.Modality, modelName: tags.ManufacturerModelName };
    }));
  }

  /** The stored file of an instance. */
  async file(id: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.get(`/instances/${id}/file`)).arrayBuffer());
  }
}
