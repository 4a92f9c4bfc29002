/**
 * The Lua scripts that change a request's record in Redis atomically (one script = one transaction), the
 * same state machine as the SQLite store's transactions. BullMQ owns the dispatch list; these own the
 * request as the API sees it (status, outcome, logs, cancel flag, progress, webhook delivery).
 *
 * Keys of one request: <prefix>:job:<id> (hash), <prefix>:logs:<id> (list of JSON lines).
 * Shared keys: <prefix>:running (set of IN_PROGRESS ids), <prefix>:webhooks (zset: due time -> "<seq>:<id>"),
 * <prefix>:finished (zset: finished time -> id, for retention).
 */

const PRELUDE = `
local rcall = redis.call
local function finish(key, running, webhooks, id, outcome, result, failure, inference, now)
  rcall('HSET', key, 'status', 'COMPLETED', 'outcome', outcome, 'finished_at', now)
  if result ~= '' then rcall('HSET', key, 'result', result) else rcall('HDEL', key, 'result') end
  if failure ~= '' then rcall('HSET', key, 'failure', failure) else rcall('HDEL', key, 'failure') end
  if inference ~= '' then rcall('HSET', key, 'inference_time', inference) else rcall('HDEL', key, 'inference_time') end
  rcall('HDEL', key, 'worker_id', 'lease_until')
  rcall('HINCRBY', key, 'version', 1)
  rcall('SREM', running, id)
  -- key is "<prefix>:job:<id>": the owner's set of unfinished requests is "<prefix>:open:<owner>".
  local prefix = string.sub(key, 1, #key - #id - 4)
  rcall('SREM', prefix .. 'open:' .. rcall('HGET', key, 'owner'), id)
  rcall('ZADD', prefix .. 'finished', now, id)
  if rcall('HEXISTS', key, 'webhook_url') == 1 and rcall('HEXISTS', key, 'webhook_state') == 0 then
    rcall('HSET', key, 'webhook_next_at', now)
    local seq = tonumber(rcall('HGET', key, 'seq'))
    rcall('ZADD', webhooks, now, string.format('%015d', seq) .. ':' .. id)
  end
end
local function addLog(key, logs, line)
  rcall('HINCRBY', key, 'log_count', 1)
  rcall('HINCRBY', key, 'version', 1)
  rcall('RPUSH', logs, line)
end
`;

/**
 * KEYS: record, owner zset, seq counter, owner's unfinished set, undispatched set (ids not yet handed to
 * BullMQ). ARGV: id, endpoint, owner, input, webhookUrl|'', now. Returns seq.
 */
export const SUBMIT = `${PRELUDE}
local seq = rcall('INCR', KEYS[3])
rcall('HSET', KEYS[1], 'seq', seq, 'id', ARGV[1], 'endpoint_id', ARGV[2], 'owner', ARGV[3], 'input', ARGV[4],
  'status', 'IN_QUEUE', 'cancel_requested', 0, 'attempts', 0, 'created_at', ARGV[6], 'log_count', 0,
  'webhook_attempts', 0, 'version', 0)
if ARGV[5] ~= '' then rcall('HSET', KEYS[1], 'webhook_url', ARGV[5]) end
rcall('ZADD', KEYS[2], seq, ARGV[1])
rcall('SADD', KEYS[4], ARGV[1])
rcall('SADD', KEYS[5], ARGV[1])
return seq
`;

/** KEYS: record, running. ARGV: id, workerId, now, leaseUntil. 1 = claimed, 0 = not queued (cancelled, gone). */
export const CLAIM = `${PRELUDE}
if rcall('HGET', KEYS[1], 'status') ~= 'IN_QUEUE' then return 0 end
rcall('HSET', KEYS[1], 'status', 'IN_PROGRESS', 'worker_id', ARGV[2], 'lease_until', ARGV[4], 'started_at', ARGV[3])
rcall('HINCRBY', KEYS[1], 'attempts', 1)
rcall('HINCRBY', KEYS[1], 'version', 1)
rcall('HDEL', KEYS[1], 'progress_done', 'progress_total')
rcall('SADD', KEYS[2], ARGV[1])
return 1
`;

/** KEYS: record. ARGV: workerId, leaseUntil. Returns {owned, cancelRequested}. */
export const HEARTBEAT = `
local s = redis.call('HMGET', KEYS[1], 'status', 'worker_id', 'cancel_requested')
local owned = 0
if s[1] == 'IN_PROGRESS' and s[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'lease_until', ARGV[2])
  owned = 1
end
local cancel = 0
if s[3] == '1' then cancel = 1 end
return {owned, cancel}
`;

/** KEYS: record, logs. ARGV: line JSON. 1 = added, 0 = no such job. */
export const APPEND_LOG = `${PRELUDE}
if rcall('EXISTS', KEYS[1]) == 0 then return 0 end
addLog(KEYS[1], KEYS[2], ARGV[1])
return 1
`;

/** KEYS: record. ARGV: done, total. */
export const PROGRESS = `
if redis.call('HGET', KEYS[1], 'status') ~= 'IN_PROGRESS' then return 0 end
redis.call('HSET', KEYS[1], 'progress_done', ARGV[1], 'progress_total', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
`;

/**
 * KEYS: record, running, webhooks. ARGV: id, workerId, outcome, result|'', failure|'', inference|'', now.
 * 1 = finished, 0 = this worker does not hold it.
 */
export const FINISH = `${PRELUDE}
local s = rcall('HMGET', KEYS[1], 'status', 'worker_id')
if s[1] ~= 'IN_PROGRESS' or s[2] ~= ARGV[2] then return 0 end
finish(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return 1
`;

/**
 * KEYS: record, logs, running, webhooks. ARGV: id, failure JSON, queuedLogLine, runningLogLine, now.
 * Returns 'NOT_FOUND', 'ALREADY_COMPLETED', 'QUEUED' (ended now) or 'RUNNING' (flagged).
 */
export const CANCEL = `${PRELUDE}
local status = rcall('HGET', KEYS[1], 'status')
if not status then return 'NOT_FOUND' end
if status == 'COMPLETED' then return 'ALREADY_COMPLETED' end
if status == 'IN_QUEUE' then
  finish(KEYS[1], KEYS[3], KEYS[4], ARGV[1], 'CANCELLED', '', ARGV[2], '', ARGV[5])
  addLog(KEYS[1], KEYS[2], ARGV[3])
  return 'QUEUED'
end
rcall('HSET', KEYS[1], 'cancel_requested', 1)
addLog(KEYS[1], KEYS[2], ARGV[4])
return 'RUNNING'
`;

/** KEYS: record, running. ARGV: id, workerId. 1 = back in the queue. */
export const RELEASE = `${PRELUDE}
local s = rcall('HMGET', KEYS[1], 'status', 'worker_id')
if s[1] ~= 'IN_PROGRESS' or s[2] ~= ARGV[2] then return 0 end
rcall('HSET', KEYS[1], 'status', 'IN_QUEUE')
rcall('HDEL', KEYS[1], 'worker_id', 'lease_until', 'started_at')
rcall('HINCRBY', KEYS[1], 'version', 1)
rcall('SREM', KEYS[2], ARGV[1])
return 1
`;

/**
 * KEYS: record, logs, running, webhooks. ARGV: id, expected workerId, maxAttempts, failure JSON,
 * failLogLine, requeueLogLine, now. Returns 'FAILED', 'REQUEUED' or '' (changed meanwhile).
 */
export const RECOVER = `${PRELUDE}
local s = rcall('HMGET', KEYS[1], 'status', 'worker_id', 'attempts')
if s[1] ~= 'IN_PROGRESS' or s[2] ~= ARGV[2] then return '' end
if tonumber(s[3]) >= tonumber(ARGV[3]) then
  finish(KEYS[1], KEYS[3], KEYS[4], ARGV[1], 'ERROR', '', ARGV[4], '', ARGV[7])
  addLog(KEYS[1], KEYS[2], ARGV[5])
  return 'FAILED'
end
rcall('HSET', KEYS[1], 'status', 'IN_QUEUE')
rcall('HDEL', KEYS[1], 'worker_id', 'lease_until', 'started_at')
rcall('SREM', KEYS[3], ARGV[1])
addLog(KEYS[1], KEYS[2], ARGV[6])
return 'REQUEUED'
`;

/** KEYS: record, wait list. ARGV: id. Position from the dispatch end of BullMQ's wait list, or -1. */
export const POSITION = `
if redis.call('HGET', KEYS[1], 'status') ~= 'IN_QUEUE' then return -1 end
local idx = redis.call('LPOS', KEYS[2], ARGV[1])
if not idx then return -1 end
return redis.call('LLEN', KEYS[2]) - 1 - idx
`;

/**
 * KEYS: webhooks zset. ARGV: now, limit, leaseMs, record key prefix ("<prefix>:job:").
 * Returns the claimed members ("<seq>:<id>").
 */
export const CLAIM_WEBHOOKS = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local next = tonumber(ARGV[1]) + tonumber(ARGV[3])
for _, m in ipairs(due) do
  redis.call('ZADD', KEYS[1], next, m)
  redis.call('HSET', ARGV[4] .. string.sub(m, 17), 'webhook_next_at', next)
end
return due
`;

/** KEYS: record, webhooks. ARGV: id, ok(1|0), nextAttemptAt|'', error|''. */
export const RECORD_WEBHOOK = `
local key = KEYS[1]
if redis.call('HEXISTS', key, 'webhook_url') == 0 or redis.call('HEXISTS', key, 'webhook_state') == 1 then return 0 end
local seq = tonumber(redis.call('HGET', key, 'seq'))
local member = string.format('%015d', seq) .. ':' .. ARGV[1]
redis.call('HINCRBY', key, 'webhook_attempts', 1)
if ARGV[2] == '1' then
  redis.call('HSET', key, 'webhook_state', 'sent')
  redis.call('HDEL', key, 'webhook_next_at', 'webhook_error')
  redis.call('ZREM', KEYS[2], member)
elseif ARGV[3] ~= '' then
  redis.call('HSET', key, 'webhook_next_at', ARGV[3], 'webhook_error', ARGV[4])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), member)
else
  redis.call('HSET', key, 'webhook_state', 'failed', 'webhook_error', ARGV[4])
  redis.call('HDEL', key, 'webhook_next_at')
  redis.call('ZREM', KEYS[2], member)
end
return 1
`;

/**
 * KEYS: finished zset. ARGV: before (epoch ms), limit, key prefix ("<prefix>:"). Deletes the requests that
 * finished before `before` (oldest first, at most `limit` looked at) with their logs and their place in their
 * owner's history; one that still owes a webhook delivery stays until it is sent or given up. Returns how many.
 */
export const PURGE_FINISHED = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for _, id in ipairs(ids) do
  local key = ARGV[3] .. 'job:' .. id
  local s = redis.call('HMGET', key, 'status', 'webhook_url', 'webhook_state', 'owner')
  if not s[1] then
    redis.call('ZREM', KEYS[1], id)
  elseif s[1] == 'COMPLETED' and (not s[2] or s[3]) then
    redis.call('DEL', key, ARGV[3] .. 'logs:' .. id)
    redis.call('ZREM', ARGV[3] .. 'owner:' .. s[4], id)
    redis.call('ZREM', KEYS[1], id)
    n = n + 1
  end
end
return n
`;
