$url = "https://portal.amootsms.com/rest/RelayMessageDeliverySetActive";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."RelayMessageDeliveryID=0";
$url = $url."&"."Active=true";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
