"""
The Redis Limiter, for many gateway processes: every `admit` is one Lua script, so one
round trip, and atomic because Redis runs a script alone.

Redis's exceptions stop here: they become LimitsUnavailable, and the guard decides which
way to fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

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


class RedisLimiter:
    """Limits shared by every process that talks to one Redis; keys start with `prefix`."""

    def __init__(self, client: Redis, *, prefix: str = "quickotp:") -> None:
        self.client = client
        self.prefix = prefix
        self._admit = client.register_script(ADMIT)

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
        A limiter on a new client; `timeout` bounds how long an outage can stall a request.

        At most `max_connections` to Redis, and a request that finds them all busy waits
        for one (up to four times `timeout`). redis-py's default pool refuses the 101st
        concurrent command instead: a burst of 128 requests would get Guard_Unavailable
        ("Too many connections") while Redis itself is idle (bench/scale.py's paced rows
        send such bursts).
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
        args: list[str | float | int] = [
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
        try:
            answer = await self._admit(keys=keys, args=args)
        except RedisError as exc:
            raise LimitsUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
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
            raise LimitsUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc

    async def ready(self) -> bool:
        try:
            return bool(await self.client.ping())
        except RedisError:
            return False

    async def aclose(self) -> None:
        await self.client.aclose()


def _encode(rule: Rule, now: float) -> tuple[str, list[str | float | int]]:
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
