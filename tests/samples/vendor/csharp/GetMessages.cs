string Token = "MyToken";
DateTime FromDateTime = DateTime.Now.Date;
DateTime ToDateTime = DateTime.Now.Date;


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "FromDateTime", FromDateTime.ToString() },
        { "ToDateTime", ToDateTime.ToString() },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/GetMessages", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
