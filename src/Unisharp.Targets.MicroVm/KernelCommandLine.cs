using System.Text;

namespace Unisharp.Targets.MicroVm;

/// <summary>Splits the kernel command line (<c>/proc/cmdline</c>) into words as the kernel does.</summary>
internal static class KernelCommandLine
{
    /// <summary>
    /// Words are separated by spaces, tabs and newlines; double quotes group spaces into a word and are removed
    /// (<c>--greeting="hello world"</c> is one word, <c>--greeting=hello world</c>), as lib/cmdline.c's next_arg reads them.
    /// </summary>
    public static List<string> Split(string commandLine)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool quoted = false;
        bool inWord = false;
        foreach (char c in commandLine)
        {
            if (c == '"')
            {
                quoted = !quoted;
                inWord = true;
            }
            else if (!quoted && c is ' ' or '\t' or '\n' or '\r' or '\0')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        return words;
    }
}
