$url = "https://portal.amootsms.com/rest/CalculateMessagePrice";

$url = $url."?"."Token=".urlencode("MyToken");
$SMSMessageText = urlencode("پیامک تستی من");
$url = $url."&"."SMSMessageText =".$SMSMessageText ;

$url = $url."&"."LineNumber=public";
$url = $url."&"."Mobiles=9120000000,9150000000";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
