string Token = "MyToken";
long[] ListMessageID = new long[]{
    10001,
    10002,
};


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "ListMessageID", string.Join(",",ListMessageID)  },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/GetDeliveries", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
