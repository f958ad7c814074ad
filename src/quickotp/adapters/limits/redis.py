"""
The Redis Limiter, for many gateway processes: every `admit` is one run of a Lua script,
atomic because Redis runs a script alone.

The runs of concurrent requests share round trips: every `admit` made while a round trip is
under way (and all made in one turn of the event loop) goes to Redis as one pipeline, the
same script with each request's keys and arguments, and each caller gets its own answer or
its own error. Redis still runs each script alone, in the order the calls were made, so
batching changes no answer; it spares each request the client's per-command work (taking a
pooled connection, a write, a wake-up for the reply), which costs the gateway more CPU than
the script costs Redis. Like the group commit (services/batching.py), there is no timer: a
lone request goes at once, and under load a batch is what arrived during the last one.

Redis's exceptions stop here: they become LimitsUnavailable, and the guard decides which
way to fail.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from prometheus_client import Histogram
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import NoScriptError, RedisError

from quickotp.domain.errors import LimitsUnavailable
from quickotp.domain.limits import (
    Admission,
    Admitted,
    Bucket,
    Claim,
    Cooldown,
    Refused,
    Repeated,
    Rule,
    Spike,
    Window,
)

# KEYS[1] the claim key; KEYS[1 + i] rule i's key.
# ARGV: now, has_claim, fingerprint, ref, claim_seconds, then five per rule: kind a b c d.
# Hours are 3600 s, as limits.HOUR. Numbers go back as strings: Redis would truncate a
# Lua float to an integer.
ADMIT = """
local now = tonumber(ARGV[1])
if ARGV[2] == '1' then
  local held = redis.call('HMGET', KEYS[1], 'until', 'fp', 'ref')
  if held[1] and tonumber(held[1]) > now then
    return {'repeat', held[2] == ARGV[3] and 1 or 0, held[3]}
  end
end
local alarms = {'ok'}
local state = {}
for i = 1, #KEYS - 1 do
  local key = KEYS[i + 1]
  local at = 5 + (i - 1) * 5
  local kind = ARGV[at + 1]
  local a, b, c, d = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]),
    tonumber(ARGV[at + 5])
  if kind == 'cooldown' then
    local untl = tonumber(redis.call('GET', key) or '0')
    if untl > now then return {'refused', i - 1, tostring(untl - now)} end
  elseif kind == 'window' then
    if tonumber(redis.call('GET', key) or '0') >= a then
      return {'refused', i - 1, tostring(b - now)}
    end
  elseif kind == 'bucket' then
    local saved = redis.call('HMGET', key, 't', 'ts')
    local tokens = b
    if saved[1] then
      tokens = math.min(b, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * a)
    end
    if tokens < 1 then return {'refused', i - 1, tostring((1 - tokens) / a)} end
    state[i] = tokens
  elseif kind == 'spike' then
    local hour = math.floor(now / 3600)
    local flat = redis.call('HGETALL', key)
    local current, total, stale = 0, 0, {}
    for j = 1, #flat, 2 do
      local h, n = tonumber(flat[j]), tonumber(flat[j + 1])
      if h == hour then current = n
      elseif h >= hour - c and h < hour then total = total + n
      elseif h < hour - c then table.insert(stale, flat[j]) end
    end
    state[i] = stale
    if current + 1 > math.max(a, b * total / c) then
      if d == 1 then return {'refused', i - 1, tostring((hour + 1) * 3600 - now)} end
      table.insert(alarms, i - 1)
    end
  end
end
for i = 1, #KEYS - 1 do
  local key = KEYS[i + 1]
  local at = 5 + (i - 1) * 5
  local kind = ARGV[at + 1]
  local a, b, c = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4])
  if kind == 'cooldown' then
    redis.call('SET', key, tostring(now + a), 'PX', math.ceil(a * 1000) + 1000)
  elseif kind == 'window' then
    redis.call('INCR', key)
    redis.call('PEXPIRE', key, math.ceil((b - now) * 1000) + 1000)
  elseif kind == 'bucket' then
    redis.call('HSET', key, 't', tostring(state[i] - 1), 'ts', ARGV[1])
    redis.call('PEXPIRE', key, math.ceil(b / a * 1000) + 1000)
  elseif kind == 'spike' then
    redis.call('HINCRBY', key, tostring(math.floor(now / 3600)), 1)
    if #state[i] > 0 then redis.call('HDEL', key, unpack(state[i])) end
    redis.call('PEXPIRE', key, (c + 1) * 3600 * 1000)
  end
end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'until', tostring(now + tonumber(ARGV[5])), 'fp', ARGV[3],
    'ref', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[5]) * 1000) + 1000)
end
return alarms
"""


MAX_CONNECTIONS = 50  # per process: one Lua call takes Redis some 30 us
MAX_BATCH = 500  # calls one pipeline carries at most

BATCH_CALLS = Histogram(
    "quickotp_limits_batch_calls",
    "Guard calls (admit scripts) carried by one round trip to Redis",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, MAX_BATCH),
)

Arg = str | float | int
_Call = tuple[list[str], list[Arg], asyncio.Future[list[Any]]]  # keys, arguments, answer


class RedisLimiter:
    """Limits shared by every process that talks to one Redis; keys start with `prefix`."""

    def __init__(
        self, client: Redis, *, prefix: str = "quickotp:", max_batch: int = MAX_BATCH
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.max_batch = max_batch
        self._admit = client.register_script(ADMIT)  # the script and its SHA1
        self._pending: list[_Call] = []
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = 0.5,
        max_connections: int = MAX_CONNECTIONS,
        prefix: str = "quickotp:",
    ) -> RedisLimiter:
        """
        A limiter on a new client; `timeout` bounds how long an outage can stall a round
        trip (a request waits for at most the one under way and its own).

        At most `max_connections` to Redis, and a command that finds them all busy waits
        for one (up to four times `timeout`). The admits of one process share one
        connection at a time; the others serve `release` and `ready`. redis-py's default
        pool refuses the 101st concurrent command instead of waiting.
        """
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=4 * timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        return cls(Redis.from_pool(pool), prefix=prefix)

    async def admit(
        self, rules: Sequence[Rule], now: float, claim: Claim | None = None
    ) -> Admission:
        keys = [self.prefix + (claim.key if claim else "-")]
        args: list[Arg] = [
            repr(now),
            1 if claim else 0,
            claim.fingerprint if claim else "",
            claim.ref if claim else "",
            repr(claim.seconds) if claim else "0",
        ]
        for rule in rules:
            key, fields = _encode(rule, now)
            keys.append(self.prefix + key)
            args.extend(fields)
        answer = await self._run(keys, args)
        kind = _text(answer[0])
        if kind == "repeat":
            return Repeated(bool(answer[1]), _text(answer[2]))
        if kind == "refused":
            return Refused(int(answer[1]), float(_text(answer[2])))
        return Admitted(tuple(int(i) for i in answer[1:]))

    async def release(self, key: str) -> None:
        try:
            await self.client.delete(self.prefix + key)
        except RedisError as exc:
            raise LimitsUnavailable(_describe(exc)) from exc

    async def ready(self) -> bool:
        try:
            return bool(await self.client.ping())
        except RedisError:
            return False

    async def aclose(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)  # the calls already made get their answers
        await self.client.aclose()

    # batching ------------------------------------------------------------------------

    def _run(self, keys: list[str], args: list[Arg]) -> asyncio.Future[list[Any]]:
        """The script's answer for one call, sent with the others of its batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((keys, args, future))
        if self._flusher is None:
            # It runs from the loop's next turn: every call made in this one joins it.
            self._flusher = loop.create_task(self._flush_all(), name="redis-limiter")
        return future

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: len(batch)]
                try:
                    answers = await self._execute(batch)
                except Exception as exc:  # a bug: every caller of the batch sees it
                    _fail(batch, exc)
                    continue
                except BaseException:  # the loop is closing: nobody is left waiting
                    _fail([*batch, *self._pending], LimitsUnavailable("the limiter stopped"))
                    self._pending.clear()
                    raise
                for (_, _, future), answer in zip(batch, answers, strict=True):
                    if future.done():  # its caller was cancelled; the script ran all the same
                        continue
                    if isinstance(answer, Exception):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        finally:
            self._flusher = None

    async def _execute(self, batch: Sequence[_Call]) -> list[list[Any] | Exception]:
        """
        One pipeline of the batch's scripts: each call's answer or LimitsUnavailable. Calls
        Redis answers NOSCRIPT (it restarted, or its scripts were flushed) did not run: the
        script is loaded and they go again, once, in a second pipeline.
        """
        answers = await self._pipeline(batch)
        missing = [i for i, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
        if missing:
            try:
                await self.client.script_load(ADMIT)
            except RedisError as exc:
                failure = LimitsUnavailable(_describe(exc))
                for i in missing:
                    answers[i] = failure
            else:
                again = await self._pipeline([batch[i] for i in missing])
                for i, answer in zip(missing, again, strict=True):
                    answers[i] = answer
        return [
            LimitsUnavailable(_describe(a)) if isinstance(a, RedisError) else a for a in answers
        ]

    async def _pipeline(self, batch: Sequence[_Call]) -> list[Any]:
        """The raw answers of one round trip (each a reply or a ResponseError)."""
        BATCH_CALLS.observe(len(batch))
        pipe = self.client.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.evalsha(self._admit.sha, len(keys), *keys, *args)
        try:
            return list(await pipe.execute(raise_on_error=False))
        except RedisError as exc:  # the connection failed: every call in it did
            return [exc] * len(batch)


def _encode(rule: Rule, now: float) -> tuple[str, list[Arg]]:
    match rule:
        case Cooldown():
            return rule.key, ["cooldown", repr(rule.seconds), 0, 0, 0]
        case Window():
            index = math.floor(now / rule.seconds)
            end = (index + 1) * rule.seconds
            return f"{rule.key}:{index}", ["window", rule.limit, end, 0, 0]
        case Bucket():
            return rule.key, ["bucket", repr(rule.rate), rule.burst, 0, 0]
        case Spike():
            return rule.key, [
                "spike",
                rule.minimum,
                repr(rule.factor),
                rule.history,
                int(rule.block),
            ]


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fail(calls: Sequence[_Call], exc: Exception) -> None:
    for _, _, future in calls:
        if not future.done():
            future.set_exception(exc)


def _describe(exc: RedisError) -> str:
    return f"Redis: {type(exc).__name__}: {exc}"
