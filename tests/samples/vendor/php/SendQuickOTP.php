$url = "https://portal.amootsms.com/rest/SendQuickOTP";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."Mobile=9120000000";
$url = $url."&"."CodeLength=4";
$url = $url."&"."OptionalCode=";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
