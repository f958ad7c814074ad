$url = "https://portal.amootsms.com/rest/RelayMessageDeliveryList";

$url = $url."?"."Token=".urlencode("MyToken");
$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
