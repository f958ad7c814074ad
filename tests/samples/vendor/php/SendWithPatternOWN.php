$url = "https://portal.amootsms.com/rest/SendWithPatternOWN";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."LineNumber=public";
$url = $url."&"."Mobile=9120000000";
$url = $url."&"."PatternCodeID=1";
$url = $url."&"."PatternValues=p1,p2";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
