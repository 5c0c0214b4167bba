import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { credentialsFromEnv, DicomwebClient, DicomwebError, filterQueries, isStructuredReport } from '../../src/pacs';
import { parseFilters } from '../../src/cli/commands/pacs';

/** A local HTTP server answering each request with the next of `answers`; records what it was asked. */
async function serve(answers: ((req: IncomingMessage, res: ServerResponse) => void)[]): Promise<{ url: string; requests: IncomingMessage[]; server: Server }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    (answers[requests.length - 1] ?? answers[answers.length - 1])(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/dicom-web`, requests, server };
}

const json = (status: number, body: unknown) => (_: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'Content-Type': 'application/dicom+json' });
  res.end(JSON.stringify(body));
};

describe('DICOMweb client', () => {
  test('credentials come from the environment: basic, bearer, or a one-line refusal', () => {
    expect(credentialsFromEnv({})).toBeUndefined();
    expect(credentialsFromEnv({ LMK_DICOMWEB_USER: 'u', LMK_DICOMWEB_PASSWORD: 'p' })).toEqual({ kind: 'basic', user: 'u', password: 'p' });
    expect(credentialsFromEnv({ LMK_DICOMWEB_TOKEN: 't' })).toEqual({ kind: 'bearer', token: 't' });
    expect(() => credentialsFromEnv({ LMK_DICOMWEB_USER: 'u' })).toThrow(/^LMK_DICOMWEB_USER and LMK_DICOMWEB_PASSWORD go together$/);
    expect(() => credentialsFromEnv({ LMK_DICOMWEB_TOKEN: 't', LMK_DICOMWEB_USER: 'u', LMK_DICOMWEB_PASSWORD: 'p' })).toThrow(/not both/);
  });

  test('refuses credentials in the URL and URLs that are not http(s), without repeating the secret', () => {
    expect(() => new DicomwebClient({ url: 'https://u:s3cret@pacs/dicom-web' })).toThrow(/holds credentials/);
    expect(() => new DicomwebClient({ url: 'https://u:s3cret@pacs/dicom-web' })).not.toThrow(/s3cret/);
    expect(() => new DicomwebClient({ url: 'ftp://pacs/' })).toThrow(/^ftp:\/\/pacs\/: a DICOMweb URL is http or https$/);
  });

  test('a bearer token in the Authorization header; 503 retried, then the answer', async () => {
    const item = { '0020000D': { vr: 'UI', Value: ['1.2'] }, '0020000E': { vr: 'UI', Value: ['1.2.3'] }, '00080018': { vr: 'UI', Value: ['1.2.3.4'] }, '00080060': { vr: 'CS', Value: ['CR'] } };
    const { url, requests, server } = await serve([json(503, {}), json(200, [item])]);
    try {
      const client = new DicomwebClient({ url, credentials: { kind: 'bearer', token: 'tok-123' }, backoffMs: 1 });
      expect(await client.searchInstances({ Modality: 'CR' })).toEqual([{ studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', sopInstanceUid: '1.2.3.4', modality: 'CR' }]);
      expect(requests).toHaveLength(2);
      expect(requests[1].headers.authorization).toBe('Bearer tok-123');
      expect(requests[1].url).toMatch(/^\/dicom-web\/instances\?Modality=CR&includefield=00080016&includefield=00080060&limit=500&offset=0$/);
    } finally {
      server.close();
    }
  });

  test('a 5xx that stays is transient and named with its URL after the retries; a 404 is final at once', async () => {
    const { url, requests, server } = await serve([json(500, {})]);
    try {
      const client = new DicomwebClient({ url, credentials: { kind: 'basic', user: 'u', password: 'pw-secret' }, retries: 2, backoffMs: 1 });
      const err = (await client.searchInstances({}).catch((e) => e)) as DicomwebError;
      expect(err).toBeInstanceOf(DicomwebError);
      expect(err.message).toMatch(new RegExp(`^${url}/instances\\?\\S+: HTTP 500 Internal Server Error \\(after 3 attempts\\)$`));
      expect(err).toMatchObject({ status: 500, transient: true });
      expect(err.message).not.toContain('pw-secret');
      expect(requests).toHaveLength(3);
    } finally {
      server.close();
    }
    const notFound = await serve([json(404, {})]);
    try {
      const client = new DicomwebClient({ url: notFound.url, backoffMs: 1 });
      const ref = { studyInstanceUid: '1', seriesInstanceUid: '2', sopInstanceUid: '3' };
      await expect(client.retrieveInstance(ref)).rejects.toMatchObject({ status: 404, transient: false, message: `${notFound.url}/studies/1/series/2/instances/3: HTTP 404 Not Found` });
      expect(notFound.requests).toHaveLength(1);
    } finally {
      notFound.server.close();
    }
  });

  test('filters: values or-ed into one query each, keys and-ed; SR objects are never inputs', () => {
    expect(parseFilters(['Modality=CR,DX', 'BodyPartExamined=HAND'])).toEqual({ Modality: ['CR', 'DX'], BodyPartExamined: ['HAND'] });
    expect(filterQueries({ Modality: ['CR', 'DX'], BodyPartExamined: ['HAND'] })).toEqual([
      { Modality: 'CR', BodyPartExamined: 'HAND' }, { Modality: 'DX', BodyPartExamined: 'HAND' },
    ]);
    expect(filterQueries({})).toEqual([{}]);
    expect(() => parseFilters(['Modality'])).toThrow(/^--filter Modality: expected KEY=VALUE/);
    const ref = { studyInstanceUid: '1', seriesInstanceUid: '2', sopInstanceUid: '3' };
    expect(isStructuredReport({ ...ref, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.33' })).toBe(true);
    expect(isStructuredReport({ ...ref, modality: 'SR' })).toBe(true);
    expect(isStructuredReport({ ...ref, sopClassUid: '1.2.840.10008.5.1.4.1.1.1', modality: 'CR' })).toBe(false);
  });
});
