<!-- Roman simulated galaxy catalog (CI mirror, simulated): served by the CI DaCHS of astro_galflow (see .ci/dachs/setup_dachs.sh). -->
<resource schema="openuniverse2024" resdir=".">
  <meta name="creationDate">2026-01-01T00:00:00Z</meta>
  <meta name="title">Roman simulated galaxy catalog (CI mirror, simulated)</meta>
  <meta name="description">Simulated galaxies in the shape of the OpenUniverse 2024 Roman catalogs served by IRSA, for offline tests.</meta>
  <meta name="subject">galaxies</meta>
  <meta name="creator">astro_galflow CI</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Catalog</meta>
  <meta name="coverage.waveband">Optical</meta>

  <table id="roman_galaxies" onDisk="True" mixin="//scs#q3cindex" adql="True">
    <meta name="description">Simulated Roman galaxies.</meta>
    <primary>galaxy_id</primary>
    <column name="galaxy_id" type="bigint" ucd="meta.id;meta.main" verbLevel="1"
      description="Galaxy id."/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main" verbLevel="1"
      description="ICRS right ascension."/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main" verbLevel="1"
      description="ICRS declination."/>
    <column name="redshift" type="real" ucd="src.redshift" verbLevel="1"
      description="True redshift."/>
    <column name="mag_r062" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI R062."/>
    <column name="mag_z087" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI Z087."/>
    <column name="mag_y106" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI Y106."/>
    <column name="mag_j129" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI J129."/>
    <column name="mag_h158" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI H158."/>
    <column name="mag_f184" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI F184."/>
    <column name="mag_k213" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="AB magnitude in WFI K213."/>
  </table>
  <data id="import_roman_galaxies">
    <sources pattern="data/galaxies.csv"/>
    <csvGrammar/>
    <make table="roman_galaxies">
      <rowmaker idmaps="*"/>
    </make>
  </data>
</resource>
