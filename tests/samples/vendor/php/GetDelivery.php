$url = "https://portal.amootsms.com/rest/GetDelivery";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."MessageID=10001";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
