function Test-Port {
    <#
    .SYNOPSIS
    Tests whether a TCP port answers on a host.

    .DESCRIPTION
    Opens a TCP connection to the port and closes it again. Returns $true when the
    connection succeeded within the timeout.

    .PARAMETER ComputerName
    The host to connect to.

    .PARAMETER Port
    The TCP port number.

    .EXAMPLE
    Test-Port -ComputerName localhost -Port 443
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param(
        [Parameter(Mandatory)]
        [string]$ComputerName,

        [int]$Port = 80
    )

    $client = [System.Net.Sockets.TcpClient]::new()
    try {
        $client.ConnectAsync($ComputerName, $Port).Wait(1000)
    }
    finally {
        $client.Dispose()
    }
}

<#
.SYNOPSIS
Resolves a host name to its IP addresses.

.DESCRIPTION
Asks DNS for the addresses of the name and writes each one to the pipeline.

.PARAMETER Name
The host name to resolve.
#>
function Resolve-HostName {
    param([Parameter(Mandatory)][string]$Name)
    [System.Net.Dns]::GetHostAddresses($Name) | ForEach-Object { $_.IPAddressToString }
}

function Get-Undocumented {
    param([string]$Path)
    Get-Item -LiteralPath $Path
}
