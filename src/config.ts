/**
 * Configuration: read once from the environment at the process's entry point, validated, frozen and
 * passed down. Nothing else in the code reads process.env.
 *
 * @example
 *   const config = loadConfig(process.env);
 *   const app = await buildServer(config);
 */
import path from "node:path";
import { z } from "zod";

const ConfigSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8000),
  /** The externally visible base URL used in response_url, status_url and file URLs. */
  publicUrl: z.string().optional(),
  dataDir: z.string().default("./data"),
  /** Keys added from the environment (MOUTHPIECE_API_KEYS, comma-separated). */
  envKeys: z.array(z.string().min(8)).default([]),
  /** Serve loopback requests without a key (the playground's own session). */
  allowLoopbackWithoutKey: z.boolean().default(true),
  /** How many renders run at once in this process. */
  workerConcurrency: z.coerce.number().int().min(0).max(64).default(1),
  ffmpegPath: z.string().optional(),
  ffprobePath: z.string().optional(),
  /** Queue backend: "sqlite" (embedded, default) or a redis:// URL (BullMQ). */
  queue: z.string().default("sqlite"),
  /** Storage backend: "local" (default, under dataDir/files) or an s3:// URL. */
  storage: z.string().default("local"),
  /** S3 credentials (AWS_ACCESS_KEY_ID, …); unset: the AWS SDK's default chain (instance role, profile). */
  s3AccessKeyId: z.string().optional(),
  s3SecretAccessKey: z.string().optional(),
  s3SessionToken: z.string().optional(),
  /** Largest request body in bytes (JSON inputs with data URIs). */
  bodyLimit: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  /** Largest uploaded file in bytes. */
  uploadLimit: z.coerce.number().int().positive().default(1024 * 1024 * 1024),
  /** Allow fetching input URLs (and sending webhooks) to private, loopback and link-local addresses. */
  allowPrivateUrls: z.boolean().default(false),
  /** API requests per minute per key (or per IP before authentication); 0 turns the limit off. */
  rateLimitPerMinute: z.coerce.number().int().min(0).default(3000),
  /**
   * Hours finished requests (records, logs) and stored files (outputs, uploads) are kept; then they are deleted.
   * 0 (the default) keeps everything; otherwise at least 1, so that no queued request's inputs go first.
   */
  retentionHours: z.coerce.number().min(0).refine((h) => h === 0 || h >= 1, "0 (keep everything) or at least 1 hour").default(0),
  /** Unfinished (queued or running) requests one key may have; 0 turns the cap off. */
  maxQueuedPerKey: z.coerce.number().int().min(0).default(100),
  /**
   * The webhook signing key (ED25519, PKCS#8 PEM; "\n" escapes accepted), so every node of a cluster signs with
   * the one key its JWKS serves. Unset: the data dir's key, generated on first start.
   */
  webhookSigningKey: z.string().optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  elevenLabsApiKey: z.string().optional(),
  elevenLabsBaseUrl: z.string().default("https://api.elevenlabs.io"),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

const truthy = (v: string | undefined) => (v === undefined ? undefined : /^(1|true|yes|on)$/i.test(v));

/** Builds the configuration from an environment (and optional overrides, e.g. from CLI flags). */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<z.input<typeof ConfigSchema>> = {}): Config {
  const fromEnv = {
    host: env.HOST,
    port: env.PORT,
    publicUrl: env.MOUTHPIECE_PUBLIC_URL,
    dataDir: env.MOUTHPIECE_DATA_DIR,
    envKeys: env.MOUTHPIECE_API_KEYS?.split(",").map((k) => k.trim()).filter(Boolean),
    allowLoopbackWithoutKey: truthy(env.MOUTHPIECE_LOOPBACK_WITHOUT_KEY),
    workerConcurrency: env.MOUTHPIECE_WORKERS,
    ffmpegPath: env.FFMPEG_PATH,
    ffprobePath: env.FFPROBE_PATH,
    queue: env.MOUTHPIECE_QUEUE,
    storage: env.MOUTHPIECE_STORAGE,
    s3AccessKeyId: env.AWS_ACCESS_KEY_ID,
    s3SecretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    s3SessionToken: env.AWS_SESSION_TOKEN,
    bodyLimit: env.MOUTHPIECE_BODY_LIMIT,
    uploadLimit: env.MOUTHPIECE_UPLOAD_LIMIT,
    allowPrivateUrls: truthy(env.MOUTHPIECE_ALLOW_PRIVATE_URLS),
    rateLimitPerMinute: env.MOUTHPIECE_RATE_LIMIT,
    maxQueuedPerKey: env.MOUTHPIECE_MAX_QUEUED_PER_KEY,
    retentionHours: env.MOUTHPIECE_RETENTION_HOURS,
    webhookSigningKey: env.MOUTHPIECE_WEBHOOK_SIGNING_KEY?.replace(/\\n/g, "\n"),
    logLevel: env.LOG_LEVEL,
    elevenLabsApiKey: env.ELEVENLABS_API_KEY,
    elevenLabsBaseUrl: env.ELEVENLABS_BASE_URL,
  };
  const defined = Object.fromEntries(Object.entries({ ...fromEnv, ...overrides }).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse(defined);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return Object.freeze({ ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) });
}
