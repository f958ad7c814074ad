$Token = "MyToken";
$data = [
    "MessageText" => "خوش آمدید: کد تایید شما %code%",
    "NumberPatterns" => "code", // اختیاری
    "IsOTP" => true,
    "RequestDescription" => "ثبت الگوی OTP"
];

$ch = curl_init("https://portal.amootsms.com/rest/PatternCodeCreate");
curl_setopt($ch, CURLOPT_HTTPHEADER, ["Authorization: $Token"]);
curl_setopt($ch, CURLOPT_POST, true);
curl_setopt($ch, CURLOPT_POSTFIELDS, http_build_query($data));
curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);

$response = curl_exec($ch);
curl_close($ch);

echo $response;
