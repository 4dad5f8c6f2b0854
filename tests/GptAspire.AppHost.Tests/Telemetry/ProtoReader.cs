using System.Buffers.Binary;
using System.Text;

namespace GptAspire.AppHost.Tests.Telemetry;

/// <summary>
/// Reads the protobuf wire format, just enough for the OTLP messages the tests look at. The feed serves no
/// OTLP proto package; this stays small and reads fields by number, as the .proto files define them.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public int Field { get; private set; }

    private int _wireType;

    public bool Next()
    {
        if (_position >= _data.Length)
        {
            return false;
        }

        var tag = ReadVarint();
        Field = (int)(tag >> 3);
        _wireType = (int)(tag & 7);
        return true;
    }

    public ReadOnlySpan<byte> Bytes()
    {
        var length = (int)ReadVarint();
        var bytes = _data.Slice(_position, length);
        _position += length;
        return bytes;
    }

    public string String() => Encoding.UTF8.GetString(Bytes());

    public ulong Varint() => ReadVarint();

    public double Double()
    {
        var value = BinaryPrimitives.ReadDoubleLittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public long Fixed64()
    {
        var value = BinaryPrimitives.ReadInt64LittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public void Skip()
    {
        switch (_wireType)
        {
            case 0: ReadVarint(); break;
            case 1: _position += 8; break;
            case 2: var length = (int)ReadVarint(); _position += length; break;
            case 5: _position += 4; break;
            default: throw new InvalidDataException($"Unsupported protobuf wire type {_wireType}.");
        }
    }

    private ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = _data[_position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
