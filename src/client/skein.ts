/**
 * The client library's entry point (KafkaJS's `new Kafka({ brokers })`): holds the connection
 * settings and makes producers, consumers and admins. Each of them owns its own `Cluster` — its own
 * connections and metadata — so closing one never disturbs another (as KafkaJS).
 *
 * `clientId` defaults to 'skein'; `connectTimeoutMs`, `requestTimeoutMs`, `retry` and `logger` are
 * defaults the producer, consumer and admin inherit (their own options win). `clock` and `random`
 * exist for tests and the simulator; production uses real timers and Math.random.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import { Admin } from './admin.js';
import { Cluster } from './cluster.js';
import { Consumer } from './consumer.js';
import type { ConsumerOptions } from './consumer-types.js';
import { InvalidArgumentError } from './errors.js';
import { Producer } from './producer.js';
import type { ProducerOptions } from './producer-options.js';
import type { RetryOptions } from './retry.js';

export interface SkeinOptions {
  /** Seed broker URLs, e.g. `['ws://127.0.0.1:9092']`. */
  readonly brokers: readonly string[];
  /** Sent in every connection's handshake; default 'skein'. */
  readonly clientId?: string;
  /** Socket open plus handshake, ms; default 10000. */
  readonly connectTimeoutMs?: number;
  /** Default wait for a request's answer, ms; default 30000. */
  readonly requestTimeoutMs?: number;
  /** Default backoff for retriable errors (the producer's defaults differ; see producer-options.ts). */
  readonly retry?: RetryOptions;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
}

export class Skein {
  private readonly options: SkeinOptions;

  constructor(options: SkeinOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('new Skein({ brokers }) needs an options object');
    this.options = options;
    // Checks brokers and timeouts now rather than at the first producer().
    this.cluster(undefined);
  }

  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.cluster(options.metadataMaxAgeMs), options, {
      ...(this.options.requestTimeoutMs !== undefined && { requestTimeoutMs: this.options.requestTimeoutMs }),
      ...(this.options.retry !== undefined && { retry: this.options.retry }),
      ...(this.options.logger !== undefined && { logger: this.options.logger }),
    });
  }

  consumer(options: ConsumerOptions = {}): Consumer {
    return new Consumer(this.cluster(undefined), {
      ...(this.options.retry !== undefined && { retry: this.options.retry }),
      ...(this.options.logger !== undefined && { logger: this.options.logger }),
      ...options,
    });
  }

  admin(options: { readonly retry?: RetryOptions } = {}): Admin {
    const retry = options.retry ?? this.options.retry;
    return new Admin(this.cluster(undefined), {
      ...(retry !== undefined && { retry }),
      ...(this.options.logger !== undefined && { logger: this.options.logger }),
    });
  }

  private cluster(metadataMaxAgeMs: number | undefined): Cluster {
    const o = this.options;
    return new Cluster({
      brokers: o.brokers,
      clientId: o.clientId ?? 'skein',
      ...(o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs }),
      ...(o.requestTimeoutMs !== undefined && { requestTimeoutMs: o.requestTimeoutMs }),
      ...(metadataMaxAgeMs !== undefined && { metadataMaxAgeMs }),
      ...(o.clock !== undefined && { clock: o.clock }),
      ...(o.random !== undefined && { random: o.random }),
      ...(o.logger !== undefined && { logger: o.logger }),
    });
  }
}
