$url = "https://portal.amootsms.com/rest/GetMessages";

$url = $url."?"."Token=".urlencode("MyToken");
$FromDateTime= new DateTime('2020-01-01');
$url = $url."&"."FromDateTime=".$FromDateTimeIran->format('c');

$ToDateTime= new DateTime('2020-02-01');
$url = $url."&"."ToDateTime=".$ToDateTime->format('c');

$json = file_get_contents($url);
echo $json;

//$result = json_decode($json);
//echo $result->Status;
