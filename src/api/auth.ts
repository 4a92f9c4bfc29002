/**
 * Who is calling. Every API route needs `Authorization: Key <key>` (fal's header) with a valid key,
 * except the playground's own session: a request from loopback that sends NO Authorization header and
 * does send `x-mouthpiece-playground: 1`, when config.allowLoopbackWithoutKey is on. (A custom header
 * cannot be sent cross-site without a CORS preflight, which this server never grants, so another web page
 * open in the same browser cannot use that door.) Such requests act as the owner "local".
 *
 * @example
 *   app.addHook("onRequest", requireAuth({ keys, allowLoopbackWithoutKey: config.allowLoopbackWithoutKey }));
 *   request.principal.owner; // "key:1a2b…" | "env:…" | "local"
 */
import type { FastifyRequest, onRequestHookHandler } from "fastify";
import { AuthError } from "../errors.js";
import type { KeyVerifier, Principal } from "./keys.js";

export const PLAYGROUND_HEADER = "x-mouthpiece-playground";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

export interface AuthOptions {
  keys: KeyVerifier;
  allowLoopbackWithoutKey: boolean;
}

/** The caller of a request, or an AuthError saying what to send. */
export function authenticate(request: FastifyRequest, options: AuthOptions): Principal {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Key\s+(\S.*)$/i.exec(header.trim());
    if (!match) throw new AuthError("Malformed Authorization header: send 'Authorization: Key <your key>'.");
    const principal = options.keys.verify(match[1].trim());
    if (!principal) throw new AuthError("Invalid or revoked API key: create one with `mouthpiece keys create`.");
    return principal;
  }
  if (options.allowLoopbackWithoutKey && request.headers[PLAYGROUND_HEADER] === "1" && isLoopback(request.socket.remoteAddress)) {
    return { owner: "local", kind: "local" };
  }
  throw new AuthError();
}

/**
 * An onRequest hook (runs before the body is read) that sets request.principal or answers 401. Callback style,
 * not async: it runs on every authenticated request, and a status poll is cheap enough that a promise per hook shows.
 */
export function requireAuth(options: AuthOptions): onRequestHookHandler {
  return (request, _reply, done) => {
    try {
      request.principal = authenticate(request, options);
    } catch (error) {
      return done(error as Error);
    }
    done();
  };
}
