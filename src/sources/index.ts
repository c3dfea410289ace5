/** The source layer's public surface: the contract, the config section and the implementations. */
export type { IngestCounts } from '../contracts/index.js';
export type { ChunkHandler, PartitionLag, Source, SourceChunk, SourceHooks, SourceKind, SourceStats } from './source.js';
export { DEFAULT_CHUNK_BYTES } from './source.js';
export {
  sourceConfigSchema,
  parseSourceConfig,

  type SourceConfig,
  type SourceConfigInput,
  type KafkaSourceConfig,
  type HttpSourceConfig,
  type GeneratorSourceConfig,
} from './source-config.js';
export { createSource, createGeneratorSource } from './create-source.js';
export { FileSource, type FileSourceOptions, type FileProgress } from './file/file-source.js';
export { StreamSource, type StreamSourceOptions } from './file/stream-source.js';
export { KafkaSource, type KafkaSourceOptions, type KafkaGroupState } from './kafka/source.js';
export { HttpSource, countLines, type HttpSourceOptions } from './http/source.js';
export { GeneratorSource, type GeneratorSourceOptions } from './generators/generator-source.js';
export { IotGenerator, type IotGeneratorOptions } from './generators/iot-generator.js';
export { CdcGenerator, type CdcGeneratorOptions } from './generators/cdc-generator.js';
export { TokenBucket } from './generators/token-bucket.js';
export type { LineGenerator, LineWriter } from './generators/line-generator.js';
