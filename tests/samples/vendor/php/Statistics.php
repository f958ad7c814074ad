$url = "https://portal.amootsms.com/rest/Statistics";

$url = $url."?"."Token=".urlencode("MyToken");
$url = $url."&"."FromDate=2020-02-01";
$url = $url."&"."ToDate=2020-03-01";

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
