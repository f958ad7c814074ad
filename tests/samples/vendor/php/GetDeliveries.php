$url = "https://portal.amootsms.com/rest/GetDeliveries";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."ListMessageID=10001,10002";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
