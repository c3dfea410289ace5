/**
 * Builds the configured source. The only place that maps `source.type` to a class, so the daemon
 * and the benches construct sources the same way.
 */
import { CdcGenerator } from './generators/cdc-generator.js';
import { ClickstreamGenerator, MAX_GENERATED_LINE_BYTES } from './generators/clickstream-events.js';
import { GeneratorSource } from './generators/generator-source.js';
import { IotGenerator } from './generators/iot-generator.js';
import type { LineGenerator, LineWriter } from './generators/line-generator.js';
import { FileSource } from './file/file-source.js';
import { HttpSource } from './http/source.js';
import { KafkaSource } from './kafka/source.js';
import type { GeneratorSourceConfig, SourceConfig } from './source-config.js';
import type { Source } from './source.js';
import { StreamSource } from './file/stream-source.js';

export function createSource(config: SourceConfig): Source {
  switch (config.type) {
    case 'file':
      return new FileSource(config.file);
    case 'stdin':
      return new StreamSource({ chunkBytes: config.stdin.chunkBytes });
    case 'kafka':
      return new KafkaSource(config.kafka);
    case 'http':
      return new HttpSource(config.http);
    case 'generator':
      return createGeneratorSource(config.generator);
  }
}

export function createGeneratorSource(config: GeneratorSourceConfig): GeneratorSource {
  let generator: LineGenerator;
  let writer: LineWriter | undefined;
  switch (config.kind) {
    case 'clickstream': {
      const clickstream = ClickstreamGenerator.fromConfig(config.clickstream);
      generator = clickstream;
      writer = { writeNdjson: (buf, at) => clickstream.writeNdjson(buf, at), maxLineBytes: MAX_GENERATED_LINE_BYTES };
      break;
    }
    case 'iot':
      generator = new IotGenerator(config.iot);
      break;
    case 'cdc':
      generator = new CdcGenerator(config.cdc);
      break;
  }
  return new GeneratorSource({
    generator,
    writer,
    ratePerSec: config.ratePerSec,
    totalEvents: config.totalEvents,
    chunkLines: config.chunkLines,
  });
}
