using System.Text;
using UnisharpApp;
using Xunit;

namespace UnisharpApp.Tests;

public class GreeterTests
{
    [Fact]
    public void GreetsByNameAndAddress()
    {
        string text = Encoding.UTF8.GetString(Greeter.Greet("Ada", "198.18.0.1:40000"));
        Assert.Equal("Hello, Ada! You are 198.18.0.1:40000.\n", text);
    }
}
