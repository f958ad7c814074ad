-- One SendQuickOTP form POST per request, each to a random Iranian mobile, as the C# sample.
-- The token comes from the environment (QUICKOTP_BENCH_TOKEN).
math.randomseed(os.time())
local token = os.getenv("QUICKOTP_BENCH_TOKEN") or ""
request = function()
  local body = string.format("Mobile=0912%07d&CodeLength=6&OptionalCode=", math.random(0, 9999999))
  return wrk.format("POST", "/rest/SendQuickOTP", {
    ["Authorization"] = token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
