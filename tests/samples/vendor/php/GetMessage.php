$url = "https://portal.amootsms.com/rest/GetMessage";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."MessageID=1000";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
