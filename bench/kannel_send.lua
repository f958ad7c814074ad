-- One Kannel sendsms GET per request, each to a random Iranian mobile, with the same Persian
-- OTP text as SendQuickOTP's pattern (UTF-8 in, sent as UCS-2) and receipts asked for.
math.randomseed(os.time())
local text = "%DA%A9%D8%AF%20%D9%88%D8%B1%D9%88%D8%AF%20%D8%B4%D9%85%D8%A7%3A%20"
request = function()
  local path = string.format(
    "/cgi-bin/sendsms?username=bench&password=bench&from=1000&to=0912%07d"
      .. "&charset=UTF-8&coding=2&dlr-mask=3&text=%s%06d",
    math.random(0, 9999999), text, math.random(0, 999999))
  return wrk.format("GET", path)
end
