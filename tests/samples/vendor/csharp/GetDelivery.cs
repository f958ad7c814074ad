string Token = "MyToken";
long MessageID = 10001;


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "MessageID", MessageID.ToString() },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/GetDelivery", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
