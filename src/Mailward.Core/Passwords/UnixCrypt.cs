// Legacy crypt(3) verification through the system's libxcrypt (crypt_rn): DES, MD5-crypt ($1$),
// SHA-256/512-crypt ($5$, $6$) and bcrypt ($2b$/$2y$) as vpopmail and Dovecot stored them.
// A well-kept C library does this better than a hand-written port of DES.
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Mailward.Core.Passwords;

internal static partial class UnixCrypt
{
    // sizeof(struct crypt_data) in libxcrypt (crypt.h: CRYPT_DATA_INTERNAL_SIZE + rest, 32768).
    private const int CryptDataSize = 32768;

    [LibraryImport("libcrypt.so.1", EntryPoint = "crypt_rn", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr CryptRn(byte[] phrase, byte[] setting, IntPtr data, int size);

    /// <summary>crypt(phrase, setting), or null when the library refuses the setting.</summary>
    public static unsafe string? Crypt(string phrase, string setting)
    {
        var p = NullTerminated(phrase);
        var s = NullTerminated(setting);
        var data = NativeMemory.AllocZeroed(CryptDataSize);
        try
        {
            var result = CryptRn(p, s, (IntPtr)data, CryptDataSize);
            if (result == IntPtr.Zero)
                return null;
            var text = Marshal.PtrToStringUTF8(result);
            // libxcrypt returns "*0"/"*1" for a setting it cannot use.
            return text is null || text.StartsWith('*') ? null : text;
        }
        finally
        {
            NativeMemory.Clear(data, CryptDataSize);
            NativeMemory.Free(data);
            CryptographicOperations.ZeroMemory(p);
        }
    }

    public static bool Verify(string hash, string password)
    {
        var computed = Crypt(password, hash);
        return computed is not null &&
               CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(computed), Encoding.UTF8.GetBytes(hash));
    }

    private static byte[] NullTerminated(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
