-- send_form_paced.lua with a new number each request (a counter from a random start), so the
-- per-number cooldown never refuses one, and a count of the answers whose Status is not
-- Success, printed at the end ("Non-Success answers: N", and "Status X: n" for each).
-- QUICKOTP_BENCH_DELAY_MS paces each connection (0: as fast as answers come);
-- QUICKOTP_BENCH_FIRST sets where the numbers start (runs in one bench must not overlap).
math.randomseed(os.time())
local token = os.getenv("QUICKOTP_BENCH_TOKEN") or ""
local pause = tonumber(os.getenv("QUICKOTP_BENCH_DELAY_MS") or "0")
local counter = tonumber(os.getenv("QUICKOTP_BENCH_FIRST") or "") or math.random(0, 4999999)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failed = 0
  statuses = {}
end

request = function()
  counter = (counter + 1) % 10000000
  local body = string.format("Mobile=0912%07d&CodeLength=6&OptionalCode=", counter)
  return wrk.format("POST", "/rest/SendQuickOTP", {
    ["Authorization"] = token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

delay = function()
  return pause
end

response = function(status, headers, body)
  if string.sub(body, 1, 20) ~= '{"Status":"Success",' then
    failed = failed + 1
    local name = string.match(body, '^{"Status":"([%w_]+)"') or ("HTTP " .. status)
    statuses[name] = (statuses[name] or 0) + 1
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("failed")
    for name, count in pairs(thread:get("statuses")) do
      io.write(string.format("Status %s: %d\n", name, count))
    end
  end
  io.write(string.format("Non-Success answers: %d\n", total))
end
