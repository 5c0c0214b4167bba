/** The part of dcmjs (which ships no types) that lmk uses: data sets in its "naturalized" form, and multipart. */
declare module 'dcmjs' {
  type NaturalDataset = Record<string, unknown>;
  interface DicomDictionary {
    meta: Record<string, unknown>;
    dict: Record<string, unknown>;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }
  export const data: {
    DicomDict: new (meta: Record<string, unknown>) => DicomDictionary;
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDictionary };
    DicomMetaDictionary: {
      denaturalizeDataset(dataset: NaturalDataset): Record<string, unknown>;
      naturalizeDataset(dataset: Record<string, unknown>): NaturalDataset;
    };
  };
  export const utilities: {
    message: {
      multipartEncode(datasets: ArrayBuffer[], boundary?: string, contentType?: string): { data: ArrayBuffer; boundary: string };
      multipartDecode(response: ArrayBuffer): ArrayBuffer[];
    };
  };
  export const log: { setLevel(level: string): void };
}
