global using Unisharp.Devices;
