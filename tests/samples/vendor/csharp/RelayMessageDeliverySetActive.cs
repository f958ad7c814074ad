string Token = "MyToken";
long RelayMessageDeliveryID = 0;
bool Active = true;


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "RelayMessageDeliveryID", RelayMessageDeliveryID.ToString() },
        { "Active", Active.ToString() },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/RelayMessageDeliverySetActive", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
