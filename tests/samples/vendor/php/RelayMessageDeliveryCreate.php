$url = "https://portal.amootsms.com/rest/RelayMessageDeliveryCreate";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."URLAddress=".urlencode( "http://Mysite.com/RelayMessageDelivery");

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
