$url = "https://portal.amootsms.com/rest/SendOTP";

$url = $url."?"."Token=".urlencode("MyToken");
$nowIran = new DateTime('now', new DateTimeZone('IRAN'));
$url = $url."&"."SendDateTime=".urlencode($nowIran->format('c'));

$url = $url."&"."SMSMessageText=".urlencode("پیامک تستی من");
$url = $url."&"."LineNumber=public";

$url = $url."&"."Mobile=9120000000";
$url = $url."&"."CodeLength=4";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
