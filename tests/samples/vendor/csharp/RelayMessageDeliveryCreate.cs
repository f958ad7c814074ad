string Token = "MyToken";
string URLAddress = "http://Mysite.com/RelayMessageDelivery";

using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "URLAddress", URLAddress },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/RelayMessageDeliveryCreate", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
