string Token = "MyToken";
DateTime FromDate = DateTime.Now.AddMonths(-1);
DateTime ToDate = DateTime.Now;

using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "FromDateTime", FromDateTime.ToString() },
        { "ToDateTime", ToDateTime.ToString() },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/Statistics", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
