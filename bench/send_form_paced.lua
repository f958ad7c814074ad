-- send_form.lua, paced: each connection waits QUICKOTP_BENCH_DELAY_MS between requests,
-- so wrk offers about connections * 1000 / delay requests a second (bench/e2e_smpp.py --rate).
math.randomseed(os.time())
local token = os.getenv("QUICKOTP_BENCH_TOKEN") or ""
local pause = tonumber(os.getenv("QUICKOTP_BENCH_DELAY_MS") or "0")
request = function()
  local body = string.format("Mobile=0912%07d&CodeLength=6&OptionalCode=", math.random(0, 9999999))
  return wrk.format("POST", "/rest/SendQuickOTP", {
    ["Authorization"] = token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
delay = function()
  return pause
end
