string Token = "MyToken";
using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {

    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/RelayMessageDeliveryList", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
