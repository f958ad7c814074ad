string Token = "MyToken";
string SMSMessageText = "پیامک تستی من";
string LineNumber = "public";
string[] Mobiles = new string[]
{
    "9120000000",
    "9150000000",
};


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "SMSMessageText", SMSMessageText  },
        { "LineNumber", LineNumber },
        { "Mobiles", string.Join(",",Mobiles)  },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/CalculateMessagePrice", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
