#requires -Version 5.1
<#
.SYNOPSIS
    Deploys the web site to a server.
.EXAMPLE
    ./Deploy-Site.ps1 -Server web01
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
    [string] $Server,

    [ValidateRange(1, 65535)]
    [int] $Port = 443
)

function Send-Package {
    param([string] $Target)
    Invoke-Command -ComputerName $Target -ScriptBlock { Restart-WebAppPool 'site' }
}

Send-Package -Target "${Server}:$Port"
