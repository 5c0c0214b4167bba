/** The PACS worker: DICOMweb in (QIDO-RS, WADO-RS), landmarks, landmark SRs out (files, STOW-RS). */
export { DicomwebClient, DicomwebError, credentialsFromEnv, CREDENTIAL_VARIABLES } from './dicomweb';
export type { DicomwebCredentials, DicomwebClientOptions, InstanceRef } from './dicomweb';
export { runPacsPass, filterQueries, isStructuredReport, PACS_FILES } from './worker';
export type { PacsPassOptions, PacsPassResult, PacsProgress, PacsPredictionLine, PacsStoredLine, PacsErrorLine } from './worker';
